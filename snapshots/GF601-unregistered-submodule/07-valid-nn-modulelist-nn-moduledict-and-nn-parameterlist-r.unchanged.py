import torch.nn as nn


class Tower(nn.Module):
    def __init__(self, depth):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(16, 16) for _ in range(depth)])
        self.heads = nn.ModuleDict({"cls": nn.Linear(16, 3)})
        self.scales = nn.ParameterList([nn.Parameter(torch.ones(16))])
