def build():
    import torch.nn as nn
    layer = nn.Linear(2, 2)
    layer.bias.detach().zero_()
    return layer
