import torch
from torch import nn

scaler = torch.cuda.amp.GradScaler()
for x, y in loader:
    optimizer.zero_grad()
    with torch.autocast('cuda'):
        loss = criterion(model(x), y)
    scaler.scale(loss).backward()
    # clip
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
