import torch
import torch.nn as nn
w = nn.Parameter(torch.zeros(3, dtype=torch.float64)).to(torch.float64)
