import torch.nn as nn
n = nn.Parameter(t).numel()
