import torch

def step(model, criterion, x, y):
    loss = torch.as_tensor(criterion(model(x), y))
    loss.backward()
