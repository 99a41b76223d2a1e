import torch


def train(model, loader, optimizer: torch.optim.Optimizer, criterion):
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
