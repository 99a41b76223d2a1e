import torch

def train_step(model, loss, lr):
    loss.backward()
    for p in model.parameters():
        with torch.no_grad():
            p.add_(p.grad, alpha=-lr)
