import torch


def pixels(x: torch.Tensor):
    b, c, h, w = x.shape
    return x.permute(0, 2, 3, 1).contiguous().view(b, h * w, c)
