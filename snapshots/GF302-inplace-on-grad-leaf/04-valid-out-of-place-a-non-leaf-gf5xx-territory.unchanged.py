import torch

W = torch.randn(3, requires_grad=True)
W = W * 0.01
