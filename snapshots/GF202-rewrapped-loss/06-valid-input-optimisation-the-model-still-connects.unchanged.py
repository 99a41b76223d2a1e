import torch

img = torch.tensor(pixels, requires_grad=True)
loss = model(img).sum()
loss.backward()
