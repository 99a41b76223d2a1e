import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Linear(8, 4)
probe = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
probe_optimizer = torch.optim.SGD(probe.parameters(), lr=0.1)
for x, y, label in loader:
    optimizer.zero_grad()
    losses = []
    for head in range(4):
        losses.append(F.mse_loss(model(x)[:, head], y[:, head]))
    torch.stack(losses).sum().backward()
    optimizer.step()
    probe_optimizer.zero_grad()
    F.mse_loss(probe(model(x)), label).backward()
    probe_optimizer.step()
