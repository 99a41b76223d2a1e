import torch


def train_epoch(model, loader, optimizer, loss_fn):
    loss_sum = torch.zeros(())
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        loss *= len(x)
        loss_sum += loss
    return loss_sum.item()
