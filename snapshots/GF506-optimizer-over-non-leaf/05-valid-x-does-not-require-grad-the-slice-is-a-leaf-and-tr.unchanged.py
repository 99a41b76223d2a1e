import torch
x = torch.randn(10, 3)
opt = torch.optim.SGD([x[:, 0]], lr=0.1)
