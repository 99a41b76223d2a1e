import torch

W = torch.randn(3, requires_grad=True)
with torch.no_grad():
    W *= 0.01
