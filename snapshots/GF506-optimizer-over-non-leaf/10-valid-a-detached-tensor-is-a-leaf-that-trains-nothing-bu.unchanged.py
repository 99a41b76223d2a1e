import torch
w = torch.randn(3, requires_grad=True)
opt = torch.optim.SGD([w.detach()], lr=0.1)
