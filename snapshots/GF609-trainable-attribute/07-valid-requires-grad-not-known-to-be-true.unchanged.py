import torch
import torch.nn as nn


class Scale(nn.Module):
    def __init__(self, trainable):
        super().__init__()
        self.w = torch.ones(3, requires_grad=trainable)

    def forward(self, x):
        return x * self.w
