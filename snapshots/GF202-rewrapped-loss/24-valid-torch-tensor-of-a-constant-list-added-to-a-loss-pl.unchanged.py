import torch
import torch.nn.functional as F


def step(model, x, y):
    loss = F.mse_loss(model(x), y) + torch.Tensor([0.5]).sum()
    loss.backward()
