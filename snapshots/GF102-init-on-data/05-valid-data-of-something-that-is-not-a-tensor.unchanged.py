import torch.nn as nn
nn.init.normal_(dataset.data)
