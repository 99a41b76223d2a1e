import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 8), nn.ReLU())
model.requires_grad_(False)
model.head = nn.Linear(8, 3)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
