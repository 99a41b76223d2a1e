import torch

W = torch.randn(784, 10, requires_grad=True)
with torch.no_grad():
    W *= 0.01
