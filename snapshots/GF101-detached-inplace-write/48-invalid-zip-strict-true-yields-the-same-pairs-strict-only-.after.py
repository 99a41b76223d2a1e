import torch.nn as nn
import torch

online, frozen = nn.Linear(3, 3), nn.Linear(3, 3)


def hard_update():
    for src, dst in zip(online.parameters(), frozen.parameters(), strict=True):
        with torch.no_grad():
            dst.copy_(src.data)
