import torch
b = torch.zeros(10, dtype=torch.float32).cuda().half().requires_grad_()
loss(b).backward()
print(b.grad)
