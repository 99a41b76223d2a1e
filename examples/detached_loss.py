"""A classifier whose loss is computed from `output.detach()`: backward() raises.

`autofix --diff examples/detached_loss.py` shows the fix; after `--fix` the script trains.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def build(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))


def train(model, steps=5):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(32, 8, generator=generator)
    y = torch.randint(0, 3, (32,), generator=generator)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        output = model(x)
        loss = F.cross_entropy(output.detach(), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


if __name__ == "__main__":
    print(train(build()))
