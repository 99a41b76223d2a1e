import torch
import torch.nn as nn


class PerRelation(nn.Module):
    def __init__(self, names, dim):
        super().__init__()
        self.scale = nn.ParameterDict()
        for name in names:
            self.scale[name] = nn.Parameter(torch.ones(dim))
