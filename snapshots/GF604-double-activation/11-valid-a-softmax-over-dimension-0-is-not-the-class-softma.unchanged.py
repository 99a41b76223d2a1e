import torch
import torch.nn.functional as F

for x, y in loader:
    attn = torch.softmax(scores, dim=0)
    loss = F.cross_entropy(attn, y)
