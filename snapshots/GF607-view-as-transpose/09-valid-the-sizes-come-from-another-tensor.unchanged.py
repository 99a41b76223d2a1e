import torch


def regroup(x: torch.Tensor, y: torch.Tensor):
    b, c, h, w = y.shape
    return x.view(b, h, w, c)
