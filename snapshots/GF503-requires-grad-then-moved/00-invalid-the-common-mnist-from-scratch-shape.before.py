import torch
w = torch.randn(784, 10, requires_grad=True).to(device)
opt = torch.optim.SGD([w], lr=0.1)
