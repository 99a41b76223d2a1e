import torch.nn as nn
w = nn.Parameter(t, requires_grad=True).to(device)
