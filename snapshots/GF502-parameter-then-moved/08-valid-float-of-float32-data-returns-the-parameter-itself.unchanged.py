import torch
import torch.nn as nn
self.scale = nn.Parameter(torch.ones(dim)).float()
