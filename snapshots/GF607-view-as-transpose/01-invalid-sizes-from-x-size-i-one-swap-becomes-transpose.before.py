import torch


def swap(x: torch.Tensor):
    return x.reshape(x.size(0), x.size(2), x.size(1))
