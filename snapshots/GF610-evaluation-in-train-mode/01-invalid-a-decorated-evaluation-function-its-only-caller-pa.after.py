import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(self.conv(x)).mean((1, 2, 3))


@torch.no_grad()
def evaluate(net, loader):
    return sum(metric(net(x), y) for x, y in loader)


def main(loader, val_loader):
    model = Net()
    opt = torch.optim.Adam(model.parameters())
    model.train()
    for epoch in range(5):
        for x, y in loader:
            opt.zero_grad()
            model(x).sub(y).pow(2).mean().backward()
            opt.step()
        print(evaluate(model, val_loader))
