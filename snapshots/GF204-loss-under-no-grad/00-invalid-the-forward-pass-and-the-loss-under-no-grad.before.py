import torch

for x, y in loader:
    with torch.no_grad():
        out = model(x)
        loss = criterion(out, y)
    loss.backward()
