import torch


def start(n, device):
    y = torch.zeros(n, requires_grad=True).to(device)
    return refine(y)
