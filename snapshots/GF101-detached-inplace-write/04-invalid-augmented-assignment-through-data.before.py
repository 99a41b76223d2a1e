import torch

def step(params: list[torch.Tensor], lr):
    for p in params:
        p.data -= lr * p.grad.data  # SGD
