import torch
w = torch.zeros(3, requires_grad=True)
opt = torch.optim.SGD([w.float()], lr=0.1)
