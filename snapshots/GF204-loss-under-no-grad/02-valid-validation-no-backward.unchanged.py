import torch

def evaluate(model, loader):
    with torch.no_grad():
        for x, y in loader:
            loss = criterion(model(x), y)
