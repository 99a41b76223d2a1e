import torch
model.requires_grad_(False)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
