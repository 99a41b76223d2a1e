import torch


def to_pixels(x: torch.Tensor):
    b, c, h, w = x.shape
    return x.view(b, h, w, c)
