import torch

w = torch.nn.Parameter(torch.ones(3))


def decay(rate):
    w.data *= 1 - rate
