import torch.nn as nn


class PreNormBlock(nn.Module):
    def __init__(self, dim, mlp):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.mlp = mlp

    def forward(self, x):
        x += self.mlp(self.norm(x))
        return x
