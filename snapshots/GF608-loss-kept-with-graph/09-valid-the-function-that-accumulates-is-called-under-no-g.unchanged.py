import torch
import torch.nn as nn
import torch.nn.functional as F

net = nn.Linear(8, 2)


def report(loader):
    total = 0.0
    for x, y in loader:
        total += F.cross_entropy(net(x), y)
    print(total / len(loader))


with torch.no_grad():
    report(val_loader)
