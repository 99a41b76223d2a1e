import torch
w = torch.randn(3, requires_grad=True)
opt = torch.optim.Adam([w.cuda()], lr=1e-3)
