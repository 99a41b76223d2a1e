import torch
model.requires_grad_(False)
model.head.requires_grad_(True)
optimizer = torch.optim.Adam(model.parameters())
