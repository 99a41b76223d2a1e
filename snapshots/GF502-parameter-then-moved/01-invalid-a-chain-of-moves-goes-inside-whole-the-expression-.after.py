import torch
self.w = torch.nn.Parameter((a + b).cuda().half(), requires_grad=True)
