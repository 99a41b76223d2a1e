import torch

x = torch.zeros(1)
x.requires_grad = True
