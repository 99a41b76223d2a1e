import torch

def step(params: list[torch.Tensor], lr):
    for p in params:
        with torch.no_grad():
            p -= lr * p.grad  # SGD
