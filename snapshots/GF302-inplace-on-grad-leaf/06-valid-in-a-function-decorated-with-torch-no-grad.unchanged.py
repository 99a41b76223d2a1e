import torch


@torch.no_grad()
def shrink(scale):
    w = torch.ones(4, requires_grad=True)
    w *= scale
    return w
