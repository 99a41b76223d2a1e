import torch
w = torch.randn(784, 10).to(device).requires_grad_()
