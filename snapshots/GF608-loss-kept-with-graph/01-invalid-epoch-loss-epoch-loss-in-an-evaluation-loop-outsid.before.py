import torch
import torch.nn as nn

net = nn.Linear(8, 1)


def evaluate(loader):
    epoch_loss = 0
    for x, y in loader:
        pred = net(x)
        epoch_loss = epoch_loss + nn.functional.mse_loss(pred, y) * len(x)
    return float(epoch_loss)
