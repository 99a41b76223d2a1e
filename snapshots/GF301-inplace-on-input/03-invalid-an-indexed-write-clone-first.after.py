import torch
import torch.nn as nn


class M(nn.Module):
    def forward(self, x: torch.Tensor, mask):
        x = x.clone()
        x[mask] = 0
        return self.net(x)


def masked_loss(model: M, x, mask):
    return (model(x, mask) - x).pow(2).mean()
