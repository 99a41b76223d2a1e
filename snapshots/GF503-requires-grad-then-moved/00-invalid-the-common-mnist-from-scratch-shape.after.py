import torch
w = torch.randn(784, 10).to(device).requires_grad_()
opt = torch.optim.SGD([w], lr=0.1)
