import torch.nn as nn
self.scale = nn.Parameter(torch.ones(dim).to(device))
