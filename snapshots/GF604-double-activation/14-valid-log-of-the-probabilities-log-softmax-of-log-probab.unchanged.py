import torch
import torch.nn.functional as F

for x, y in loader:
    loss = F.cross_entropy(torch.log(F.softmax(model(x), 1)), y)
