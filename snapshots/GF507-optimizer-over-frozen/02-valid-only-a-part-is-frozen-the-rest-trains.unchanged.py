import torch
model.backbone.requires_grad_(False)
optimizer = torch.optim.Adam(model.parameters())
