import torch
import torch.nn as nn

optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
train(model, optimizer)
model.fc = nn.Identity()
features = model(x)
