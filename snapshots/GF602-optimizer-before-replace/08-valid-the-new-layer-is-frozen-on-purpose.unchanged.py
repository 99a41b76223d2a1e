import torch
import torch.nn as nn

optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
model.fc = nn.Linear(512, 10)
model.fc.requires_grad_(False)
for x, y in loader:
    optimizer.step()
