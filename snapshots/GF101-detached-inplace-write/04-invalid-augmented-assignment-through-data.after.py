import torch

def step(params, lr):
    for p in params:
        with torch.no_grad():
            p -= lr * p.grad  # SGD
