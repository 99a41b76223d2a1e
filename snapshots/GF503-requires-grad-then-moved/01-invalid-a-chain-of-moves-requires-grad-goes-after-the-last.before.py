import torch
b = torch.zeros(10, requires_grad=True, dtype=torch.float32).cuda().half()
loss(b).backward()
print(b.grad)
