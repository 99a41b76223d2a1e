import torch
with torch.no_grad():
    w = w - lr * w.grad
w.requires_grad_()
