import torch
import torch.nn as nn


@torch.no_grad()
def evaluate(net, loader):
    return sum(metric(net(x), y) for x, y in loader)


def main(loader, flag):
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout())
    if flag:
        model.eval()
    print(evaluate(model, loader))


def other(m, loader):
    evaluate(m, loader)
