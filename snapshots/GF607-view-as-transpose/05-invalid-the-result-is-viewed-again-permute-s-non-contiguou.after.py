import torch


def heads(x: torch.Tensor):
    b, c, t = x.shape
    y = x.transpose(1, 2)
    return y.view(b * t, c)
