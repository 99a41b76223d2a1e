import torch
import torch.nn as nn
layer = nn.Linear(4, 4)
opt = torch.optim.Adam([layer.weight.t()])
