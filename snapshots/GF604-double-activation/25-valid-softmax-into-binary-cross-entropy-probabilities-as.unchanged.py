import torch.nn.functional as F

for x, t in loader:
    loss = F.binary_cross_entropy(F.softmax(model(x), dim=1), t)
