from torch.nn.init import zeros_
import torch.nn as nn

lin = nn.Linear(2, 2)
zeros_(lin.bias.data)
