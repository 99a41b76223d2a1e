import torch
self.w = torch.nn.Parameter(a + b, requires_grad=True).cuda().half()
