import torch
import torch.nn as nn


class Gate(nn.Module):
    def __init__(self):
        super().__init__()
        self.squash = nn.Tanh()

    def forward(self, x, bias):
        y = self.squash(x).transpose(0, 1)
        y = y.add(bias)
        return y
