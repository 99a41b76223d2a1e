import torch
opt = torch.optim.SGD([torch.tensor([1.0], requires_grad=True).cuda()], lr=0.1)
