import torch
teacher.requires_grad_(False)
optimizer = torch.optim.Adam(student.parameters())
