import torch


def decay(optimizer: torch.optim.Optimizer, rate):
    for group in optimizer.param_groups:
        for p in group["params"]:
            p.data.mul_(1 - rate)
