import torch.nn as nn


def step(model, criterion, x, y):
    output = model(x)
    loss = criterion(output, y)
    loss.backward()


step(net, nn.MSELoss(), x, y)
