import torch.nn.functional as F

for x, y in loader:
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    probs = F.softmax(logits, dim=1)
    acc = (probs.argmax(1) == y).float().mean()
