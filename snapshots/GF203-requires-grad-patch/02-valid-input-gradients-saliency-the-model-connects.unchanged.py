import torch

x = torch.randn(8, 3)
x.requires_grad_()
loss = model(x).sum()
loss.backward()
