import torch
import torch.nn as nn


@torch.no_grad()
def evaluate(net, loader):
    return sum(metric(net(x), y) for x, y in loader)


def main(loader):
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout())
    model.eval()
    print(evaluate(model, loader))
