import torch
x = torch.randn(3, requires_grad=flag).to(device)
