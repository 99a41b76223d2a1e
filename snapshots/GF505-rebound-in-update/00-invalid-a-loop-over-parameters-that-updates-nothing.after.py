import torch
with torch.no_grad():
    for p in model.parameters():
        p -= lr * p.grad
