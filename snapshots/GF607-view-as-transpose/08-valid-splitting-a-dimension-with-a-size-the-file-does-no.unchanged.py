import torch


def split_heads(x: torch.Tensor, heads: int):
    b, t, c = x.size()
    return x.view(b, t, heads, c // heads).transpose(1, 2)
