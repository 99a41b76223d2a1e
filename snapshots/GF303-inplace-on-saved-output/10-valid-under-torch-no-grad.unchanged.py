import torch
import torch.nn as nn


class Probe(nn.Module):
    def forward(self, x):
        with torch.no_grad():
            y = torch.relu(x)
            y += 1
        return y
