import torch
import torch.nn.functional as F

for x, t in loader:
    loss = F.binary_cross_entropy(torch.sigmoid(model(x)), t)
