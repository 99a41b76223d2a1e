import torch

for x, y in loader:
    opt.step()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = criterion(model(x), y)
    loss.backward()
