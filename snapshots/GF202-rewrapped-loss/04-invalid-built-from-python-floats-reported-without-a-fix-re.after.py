import torch

l1 = criterion(model(x), y)
total = l1.item() + 0.1 * reg.item()
loss = torch.tensor(total, requires_grad=True)
loss.backward()
