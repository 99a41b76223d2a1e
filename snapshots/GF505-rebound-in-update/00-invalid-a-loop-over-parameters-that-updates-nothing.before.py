import torch
with torch.no_grad():
    for p in model.parameters():
        p = p - lr * p.grad
