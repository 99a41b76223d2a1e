import torch
import torch.nn as nn


class Shift(nn.Module):
    def forward(self, x):
        x = x.sub(x.mean())
        return x


w = torch.randn(5, requires_grad=True)
out = Shift()(w)
