import torch.nn.functional as F


def step(model, x, y):
    out = model(x)
    smooth = F.l1_loss(out[:, 1:], out[:, :-1])
    loss = F.mse_loss(out, y) + 0.1 * smooth.detach()
    loss.backward()
