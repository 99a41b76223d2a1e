import torch
w = torch.randn(3, 4, requires_grad=True)
w_t = w.t()
opt = torch.optim.SGD([{'params': [w_t]}], lr=0.1)
