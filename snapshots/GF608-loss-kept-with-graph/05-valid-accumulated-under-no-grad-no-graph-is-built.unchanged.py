import torch
import torch.nn.functional as F

running = 0.0
with torch.no_grad():
    for x, y in val_loader:
        running += F.cross_entropy(model(x), y)
