import torch


def batch_rows(x: torch.Tensor):
    b = x.size(0)
    return x.view(b, -1)
