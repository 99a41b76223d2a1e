import torch
opt = torch.optim.SGD([cfg.weight.cuda()], lr=0.1)
