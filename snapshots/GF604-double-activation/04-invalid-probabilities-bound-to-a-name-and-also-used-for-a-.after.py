import torch.nn.functional as F

for x, y in loader:
    probs = F.softmax(model(x), dim=1)
    loss = F.cross_entropy(probs, y)
    acc = (probs.argmax(1) == y).float().mean()
