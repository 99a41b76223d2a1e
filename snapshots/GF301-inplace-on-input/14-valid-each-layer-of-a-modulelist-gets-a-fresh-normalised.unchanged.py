import torch
import torch.nn as nn


class NoisyRouter(nn.Module):
    def forward(self, hidden: torch.Tensor):
        if self.training:
            hidden *= torch.empty_like(hidden).uniform_(0.99, 1.01)
        return self.score(hidden)


class Stack(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.blocks = nn.ModuleList([NoisyRouter() for _ in range(n)])
        self.norm = nn.LayerNorm(8)

    def forward(self, hidden):
        for block in self.blocks:
            hidden = block(self.norm(hidden))
        return hidden
