import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.p = p

    def forward(self, x):
        return nn.functional.dropout(self.fc(x), self.p, training=self.training)


def test(net, xs):
    with torch.inference_mode():
        for x in xs:
            print(net(x).argmax(1))


def run(xs):
    model = Net(0.2)
    test(model, xs)
