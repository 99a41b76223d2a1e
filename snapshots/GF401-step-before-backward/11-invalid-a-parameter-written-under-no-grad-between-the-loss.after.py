import torch
import torch.nn as nn

model = nn.Linear(8, 1)
for x, y in loader:
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        model.weight.copy_(model.weight + delta)
