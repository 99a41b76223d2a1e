import torch
import torch.nn as nn

seq = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
opt = torch.optim.SGD(seq.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(opt, 10)
seq[2] = nn.Linear(4, 3)
for x, y in data:
    opt.zero_grad()
    loss(seq(x), y).backward()
    opt.step()
    scheduler.step()
