import torch


def freeze(model):
    model.requires_grad_(False)


def build(model):
    return torch.optim.SGD(model.parameters(), lr=0.1)
