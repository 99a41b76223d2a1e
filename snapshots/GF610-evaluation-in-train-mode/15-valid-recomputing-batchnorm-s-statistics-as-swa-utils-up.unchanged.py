import torch
import torch.nn as nn


@torch.no_grad()
def recalibrate(net, loader):
    for x in loader:
        net(x)


def main(loader):
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    model.train()
    recalibrate(model, loader)
