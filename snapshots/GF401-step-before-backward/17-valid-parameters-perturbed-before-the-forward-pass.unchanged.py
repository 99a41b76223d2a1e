import torch


def noisy(model, x, sigma):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(sigma * torch.randn_like(p))
    loss = model(x).sum()
    loss.backward()
