import torch.nn as nn
nn.init.xavier_uniform_(m.weight.data)
