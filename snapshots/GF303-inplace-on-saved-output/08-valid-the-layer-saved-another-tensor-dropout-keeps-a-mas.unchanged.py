import torch.nn as nn


class CrossAdd(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        self.drop = nn.Dropout(0.1)

    def forward(self, x, context):
        x += self.proj(context)
        x += self.drop(x)
        return x
