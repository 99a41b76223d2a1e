import torch.nn as nn


def load(module, name, value, device):
    x = value.to(device)
    module._parameters[name] = nn.Parameter(x, requires_grad=False).to(device)
