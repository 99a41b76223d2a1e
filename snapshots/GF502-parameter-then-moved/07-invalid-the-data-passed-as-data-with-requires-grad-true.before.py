import torch.nn as nn
self.bias = nn.Parameter(data=torch.zeros(dim), requires_grad=True).to(device)
