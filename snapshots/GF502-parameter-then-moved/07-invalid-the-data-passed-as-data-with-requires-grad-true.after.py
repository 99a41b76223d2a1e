import torch.nn as nn
self.bias = nn.Parameter(data=torch.zeros(dim).to(device), requires_grad=True)
