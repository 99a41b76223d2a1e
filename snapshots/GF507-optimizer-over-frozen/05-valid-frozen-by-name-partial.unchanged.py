import torch
for name, p in model.named_parameters():
    if 'bert' in name:
        p.requires_grad = False
optimizer = torch.optim.Adam(model.parameters())
