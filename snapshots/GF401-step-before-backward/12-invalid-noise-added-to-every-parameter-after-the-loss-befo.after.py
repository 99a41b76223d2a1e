import torch


def perturb_step(model, x, y, criterion, sigma):
    loss = criterion(model(x), y)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(sigma * torch.randn_like(p))
    return loss
