import torch


def swap(x: torch.Tensor):
    return x.transpose(1, 2)
