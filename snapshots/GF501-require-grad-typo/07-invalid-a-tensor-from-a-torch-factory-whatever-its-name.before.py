import torch

x = torch.zeros(1)
x.require_grad = True
