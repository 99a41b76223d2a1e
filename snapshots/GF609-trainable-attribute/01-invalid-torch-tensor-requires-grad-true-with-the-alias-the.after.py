import torch
from torch import nn as tnn


class Temperature(tnn.Module):
    def __init__(self, t0):
        super().__init__()
        self.t = tnn.Parameter(torch.tensor([t0], dtype=torch.float32))

    def forward(self, logits):
        return logits / self.t
