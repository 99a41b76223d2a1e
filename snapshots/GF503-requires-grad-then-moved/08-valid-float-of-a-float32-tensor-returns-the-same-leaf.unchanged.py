import torch


def initial_guess(n, like):
    return torch.zeros(n, 4, requires_grad=True, device=like.device).float()
