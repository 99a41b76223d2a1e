import torch.nn as nn
nn.init.zeros_(p)
