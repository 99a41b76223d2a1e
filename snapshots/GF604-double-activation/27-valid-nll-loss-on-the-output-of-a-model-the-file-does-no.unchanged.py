import torch.nn.functional as F


def step(model, x, y):
    return F.nll_loss(model(x), y)
