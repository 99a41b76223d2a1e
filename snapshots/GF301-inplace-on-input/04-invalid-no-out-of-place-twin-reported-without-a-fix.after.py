import torch
import torch.nn as nn


class M(nn.Module):
    def forward(self, x):
        x.zero_()
        return x


state = torch.ones(3)
M()(state)
print(state)
