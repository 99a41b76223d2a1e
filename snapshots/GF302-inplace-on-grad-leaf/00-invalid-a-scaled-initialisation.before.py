import torch

W = torch.randn(784, 10, requires_grad=True)
W *= 0.01
