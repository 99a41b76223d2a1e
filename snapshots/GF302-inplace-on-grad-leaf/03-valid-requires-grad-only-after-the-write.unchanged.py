import torch

W = torch.randn(3)
W *= 0.01
W.requires_grad_()
