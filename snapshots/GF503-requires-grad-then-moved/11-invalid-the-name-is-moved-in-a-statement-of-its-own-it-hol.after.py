import torch

theta = torch.full((5,), 0.5, requires_grad=True)
theta = theta.double()
(theta ** 3).sum().backward()
step = theta.grad
