import torch
import torch.nn as nn
import torch.nn.functional as F

encoder = nn.Linear(8, 4)
head = nn.Linear(8, 1)
opt_encoder = torch.optim.SGD(encoder.parameters(), lr=0.1)
opt_head = torch.optim.SGD(head.parameters(), lr=0.1)
for x, target, y in loader:
    opt_encoder.zero_grad()
    opt_head.zero_grad()
    reconstruction = F.mse_loss(encoder(x), target)
    regression = F.mse_loss(head(x), y)
    reconstruction.backward()
    opt_encoder.step()
    opt_head.step()
    regression.backward()
