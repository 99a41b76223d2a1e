import torch
import torch.nn as nn
self.emb = nn.Parameter(torch.randn(n, 8).to(device))
