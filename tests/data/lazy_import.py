"""A plugin that imports torch lazily so that importing it stays cheap."""


def build_head(dim):
    import torch.nn as nn

    head = nn.Linear(dim, 1)
    head.bias.detach().fill_(0.5)
    return head


def describe():
    return "head builder"
