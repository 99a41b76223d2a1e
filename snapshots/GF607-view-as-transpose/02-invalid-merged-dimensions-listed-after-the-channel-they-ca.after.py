import torch


def tokens(feat: torch.Tensor):
    n, c, h, w = feat.size()
    return feat.permute(0, 2, 3, 1).reshape(n, h * w, c)
