import torch
import torch.nn as nn


class Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.randn(3, requires_grad=True)

    def forward(self, x):
        return x * self.w


probe = Probe()
optimizer = torch.optim.SGD(list(probe.parameters()) + [probe.w], lr=0.1)
