import torch
from torch.nn import Module, Parameter


class Bias(Module):
    def __init__(self, n):
        super().__init__()
        self.b = torch.zeros(n).requires_grad_()

    def forward(self, x):
        return x + self.b
