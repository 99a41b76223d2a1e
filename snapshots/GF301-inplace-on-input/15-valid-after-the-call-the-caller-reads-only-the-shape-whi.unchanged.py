import torch
import torch.nn as nn


class Scale(nn.Module):
    def forward(self, x: torch.Tensor):
        x.mul_(self.gain)
        return x


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = Scale()
        self.proj = nn.Linear(8, 8)

    def forward(self, x):
        h = self.proj(x)
        out = self.scale(h)
        return out.view(h.shape[0], -1)
