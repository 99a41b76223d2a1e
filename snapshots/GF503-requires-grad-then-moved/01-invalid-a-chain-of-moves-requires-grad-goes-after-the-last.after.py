import torch
b = torch.zeros(10, dtype=torch.float32).cuda().half().requires_grad_()
