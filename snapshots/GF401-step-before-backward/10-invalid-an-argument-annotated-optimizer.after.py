from torch.optim import Optimizer


def step(model, batch, optimizer: Optimizer):
    loss = model(batch).mean()
    loss.backward()
    optimizer.step()
