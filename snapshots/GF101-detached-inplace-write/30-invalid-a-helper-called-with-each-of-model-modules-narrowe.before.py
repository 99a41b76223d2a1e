import torch.nn as nn


def init(m):
    if isinstance(m, nn.Linear):
        m.bias.data.fill_(0)


def build():
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
    for layer in model.modules():
        init(layer)
    return model
