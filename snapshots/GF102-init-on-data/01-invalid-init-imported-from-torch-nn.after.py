import torch
from torch.nn import init


class Head(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.empty(4))
        init.normal_(self.bias, std=0.02)
