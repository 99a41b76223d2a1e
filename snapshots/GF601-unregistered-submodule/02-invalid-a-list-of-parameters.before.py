import torch


class Scaled(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.scales = [torch.nn.Parameter(torch.ones(4)) for _ in range(n)]

    def forward(self, x):
        for s in self.scales:
            x = x * s
        return x
