import torch
import torch.nn as nn

optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
model = build()
model.fc = nn.Linear(512, 10)
for x, y in loader:
    optimizer.step()
