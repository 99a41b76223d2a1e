import torch
w = torch.randn(3, device=device, requires_grad=True)
