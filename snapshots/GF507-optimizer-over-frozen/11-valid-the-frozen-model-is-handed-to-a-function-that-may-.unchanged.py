import torch

model.requires_grad_(False)
replace_linear_with_lora(model, rank=8)
optimizer = torch.optim.AdamW(model.parameters())
