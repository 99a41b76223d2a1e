import torch

def train_step(model, loss, lr):
    loss.backward()
    for p in model.parameters():
        p.data.add_(p.grad, alpha=-lr)
