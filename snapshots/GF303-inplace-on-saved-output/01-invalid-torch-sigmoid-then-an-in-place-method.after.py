import torch

def gate(h, g):
    s = torch.sigmoid(g)
    s = s.mul(h)
    return s
