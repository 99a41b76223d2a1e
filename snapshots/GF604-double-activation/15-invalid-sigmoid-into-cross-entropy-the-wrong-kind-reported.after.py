import torch
import torch.nn.functional as F

for x, y in loader:
    loss = F.cross_entropy(torch.sigmoid(model(x)), y)
