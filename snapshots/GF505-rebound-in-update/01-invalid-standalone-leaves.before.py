import torch
with torch.no_grad():
    w = w - lr * w.grad
    b = b - lr * b.grad
w.grad.zero_()
b.grad.zero_()
