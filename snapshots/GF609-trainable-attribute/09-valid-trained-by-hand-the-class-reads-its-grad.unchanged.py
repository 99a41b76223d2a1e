import torch
import torch.nn as nn


class Scale(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.randn(3, requires_grad=True)

    def forward(self, x):
        return x * self.w

    def sgd(self, lr):
        with torch.no_grad():
            self.w -= lr * self.w.grad
            self.w.grad.zero_()
