import torch
import torch.nn as nn


class M(nn.Module):
    def forward(self, x: torch.Tensor):
        x = x + self.pos_embedding
        return self.net(x)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = M()

    def forward(self, x):
        return self.inner(x) + x
