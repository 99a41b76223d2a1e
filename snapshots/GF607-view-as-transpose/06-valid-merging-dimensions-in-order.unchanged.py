import torch


def flat(x: torch.Tensor):
    b, c, h, w = x.shape
    return x.view(b, c, h * w)
