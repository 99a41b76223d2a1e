import torch

def gate(h, g):
    s = torch.sigmoid(g)
    s.mul_(h)
    return s
