import torch
import torch.nn as nn

def gate(h, x, layer: nn.Linear):
    s = torch.sigmoid(layer(x))
    s = s.mul(h)
    return s
