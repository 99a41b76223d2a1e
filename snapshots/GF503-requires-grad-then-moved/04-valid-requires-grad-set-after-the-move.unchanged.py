import torch
w = torch.randn(3).to(device).requires_grad_()
