import torch


def train(model, loader, hooks):
    optimizer = torch.optim.Adam(model.parameters())
    for x, y in loader:
        model(x).sub(y).pow(2).mean().backward()
        optimizer.step()
        hooks.after_step(optimizer)
