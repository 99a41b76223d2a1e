import torch


def tokens(feat: torch.Tensor):
    n, c, h, w = feat.size()
    return feat.view(n, h * w, c)
