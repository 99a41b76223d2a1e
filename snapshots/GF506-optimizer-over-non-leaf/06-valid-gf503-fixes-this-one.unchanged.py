import torch
opt = torch.optim.SGD([torch.randn(3, requires_grad=True).cuda()], lr=0.1)
