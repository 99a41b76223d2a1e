"""A small model whose initialisation and hand-written SGD write through `.detach()` / `.data`.

Run `autofix --diff examples/` to see the fixes; the program trains the same before and after.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self, dim=16, classes=4):
        super().__init__()
        self.hidden = nn.Linear(dim, 32)
        self.head = nn.Linear(32, classes)
        nn.init.kaiming_uniform_(self.hidden.weight.data, nonlinearity="relu")
        # start from a uniform prediction
        self.head.weight.detach().zero_()
        self.head.bias.detach().zero_()

    def forward(self, x):
        return self.head(F.relu(self.hidden(x)))


def sgd_step(model, lr):
    for p in model.parameters():
        p.data.add_(-lr, p.grad.data)
        p.grad.data.zero_()


def main(steps=20):
    torch.manual_seed(0)
    model = Classifier()
    x, y = torch.randn(64, 16), torch.randint(0, 4, (64,))
    for step in range(steps):
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        sgd_step(model, lr=0.5)
        print(f"step {step}: loss {loss.item():.4f}")


if __name__ == "__main__":
    main()
