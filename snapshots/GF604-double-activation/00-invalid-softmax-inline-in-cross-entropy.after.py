import torch.nn.functional as F

for x, y in loader:
    loss = F.cross_entropy(model(x), y)
