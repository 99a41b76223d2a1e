import torch
if args.freeze:
    model.requires_grad_(False)
optimizer = torch.optim.Adam(model.parameters())
