import torch.nn.functional as F

for x, y in loader:
    loss = F.cross_entropy(F.log_softmax(model(x), dim=1), y)
