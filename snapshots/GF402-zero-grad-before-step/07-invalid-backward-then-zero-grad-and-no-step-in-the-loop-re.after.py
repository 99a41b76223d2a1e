import torch

opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    opt.zero_grad()
