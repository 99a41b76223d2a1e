import torch
import torch.nn as nn


class Codebook(nn.Module):
    def __init__(self, n, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(dim, n))

    def nudge(self, i, delta):
        self.weight[:, i] -= delta
