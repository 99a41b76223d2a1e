import torch
opt = torch.optim.SGD([torch.tensor([1.0]).cuda().requires_grad_()], lr=0.1)
