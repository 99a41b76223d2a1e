import torch.nn as nn

mse = nn.MSELoss()

def fit(net, x, y):
    loss = mse(net(x).detach(), y)
    loss.backward()
