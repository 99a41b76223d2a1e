import torch
w = torch.zeros(3, requires_grad=True).cpu()
opt = torch.optim.SGD([w], lr=0.1)
