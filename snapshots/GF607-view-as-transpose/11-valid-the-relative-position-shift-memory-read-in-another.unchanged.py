import torch


def rel_shift(scores: torch.Tensor):
    b, h, q, k = scores.shape
    scores = scores.reshape(b, h, k, q)[:, :, 1:]
    return scores.reshape(b, h, q, k - 1)
