import torch

w = torch.zeros(3, requires_grad=True)
for x, y in data:
    ((x @ w - y) ** 2).mean().backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
