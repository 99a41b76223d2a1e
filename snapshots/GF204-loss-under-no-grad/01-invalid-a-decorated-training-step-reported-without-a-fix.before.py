import torch

@torch.no_grad()
def train_step(model, opt, x, y):
    loss = criterion(model(x), y)
    loss.backward()
    opt.step()
