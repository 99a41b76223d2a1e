import torch.nn.functional as F


def compute_loss(pred, target):
    return F.mse_loss(pred.detach(), target)


def train(model, loader):
    for x, y in loader:
        loss = compute_loss(model(x), y)
        loss.backward()
