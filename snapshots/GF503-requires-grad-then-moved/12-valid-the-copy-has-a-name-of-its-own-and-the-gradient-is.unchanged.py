import torch

theta = torch.full((5,), 0.5, requires_grad=True)
theta64 = theta.double()
(theta64 ** 3).sum().backward()
step = theta.grad
