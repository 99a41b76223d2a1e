import torch
import torch.nn as nn

G = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16))
D = nn.Linear(16, 1)
opt = torch.optim.Adam(D.parameters())
for real in loader:
    with torch.no_grad():
        fake = G(torch.randn(64, 8))
    opt.zero_grad()
    (D(fake).mean() - D(real).mean()).backward()
    opt.step()
