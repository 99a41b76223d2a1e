from torch import randn
import torch

w = (randn(5, 3) * 0.1).requires_grad_()
with torch.no_grad():
    w.clamp_(-1, 1)
