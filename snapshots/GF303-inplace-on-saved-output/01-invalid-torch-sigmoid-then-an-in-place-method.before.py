import torch
import torch.nn as nn

def gate(h, x, layer: nn.Linear):
    s = torch.sigmoid(layer(x))
    s.mul_(h)
    return s
