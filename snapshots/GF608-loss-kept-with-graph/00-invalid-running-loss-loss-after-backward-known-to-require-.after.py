import torch.nn.functional as F

running_loss = 0.0
for x, y in loader:
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    running_loss += loss.detach()
print(running_loss / len(loader))
