import torch.nn as nn
import torch


def init(m):
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            m.bias.fill_(0)


def build():
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
    for layer in model.modules():
        init(layer)
    return model
