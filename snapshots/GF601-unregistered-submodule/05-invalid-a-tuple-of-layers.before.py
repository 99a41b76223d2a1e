import torch.nn as nn


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.branches = (nn.Conv2d(3, 8, 3), nn.Conv2d(3, 8, 5))

    def forward(self, x):
        return sum(b(x).mean() for b in self.branches) + len(self.branches)
