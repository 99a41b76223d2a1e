import torch
import torch.nn.functional as F


def step(model, x, y):
    out = model(x)
    penalty = F.mse_loss(out.mean(0), y.mean(0))
    loss = F.cross_entropy(out, y.argmax(-1)) + penalty
    loss.backward()
