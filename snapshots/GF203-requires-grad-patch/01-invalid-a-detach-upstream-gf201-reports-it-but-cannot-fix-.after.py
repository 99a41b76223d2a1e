import torch.nn as nn

criterion = nn.MSELoss()
for batch in loader:
    loss = criterion(model(batch).detach(), batch)
    loss.requires_grad_()
    loss.backward()
