import torch
opt = torch.optim.SGD(model.parameters(), lr=0.1)
