import torch


@torch.no_grad()
def evaluate(model, loader):
    return sum(metric(model(x), y) for x, y in loader)
