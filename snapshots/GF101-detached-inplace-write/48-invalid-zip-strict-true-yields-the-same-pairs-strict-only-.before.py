import torch.nn as nn

online, frozen = nn.Linear(3, 3), nn.Linear(3, 3)


def hard_update():
    for src, dst in zip(online.parameters(), frozen.parameters(), strict=True):
        dst.data.copy_(src.data)
