import torch

for x, y in loader:
    out = model(x)
    loss = criterion(out, y)
    loss.backward()
