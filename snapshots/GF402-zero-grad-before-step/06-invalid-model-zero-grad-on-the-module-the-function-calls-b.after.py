import torch


def train(model, loader, criterion, lr=0.1):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for x, y in loader:
        loss = criterion(model(x), y)
        model.zero_grad()
        loss.backward()
        optimizer.step()
