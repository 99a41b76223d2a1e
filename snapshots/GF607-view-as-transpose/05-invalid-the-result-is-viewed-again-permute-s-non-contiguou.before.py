import torch


def heads(x: torch.Tensor):
    b, c, t = x.shape
    y = x.view(b, t, c)
    return y.view(b * t, c)
