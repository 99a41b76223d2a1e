import torch
import torch.nn.functional as F


def skew(rel: torch.Tensor):
    padded = F.pad(rel, (1, 0))
    b, h, rows, cols = padded.shape
    flipped = padded.reshape(b, h, cols, rows)
    return flipped[:, :, 1:, :]
