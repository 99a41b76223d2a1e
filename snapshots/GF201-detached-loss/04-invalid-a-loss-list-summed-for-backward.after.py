import torch.nn as nn

criterion = nn.MSELoss()
losses = []
for x, y in loader:
    losses.append(criterion(model(x), y))
sum(losses).backward()
