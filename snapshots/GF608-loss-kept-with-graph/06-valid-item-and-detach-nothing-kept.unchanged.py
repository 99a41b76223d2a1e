import torch.nn.functional as F

running_loss = 0.0
losses = []
for x, y in loader:
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    running_loss += loss.item()
    losses.append(loss.detach())
