import torch

def f(x):
    with torch.no_grad():
        y = torch.relu(x)
        y += 1
    return y
