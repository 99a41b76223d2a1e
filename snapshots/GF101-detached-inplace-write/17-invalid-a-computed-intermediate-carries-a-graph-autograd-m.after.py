import torch.nn as nn
import torch

proj = nn.Linear(4, 4)


def project(x):
    h = proj(x)
    with torch.no_grad():
        h.clamp_(min=0)
    return h
