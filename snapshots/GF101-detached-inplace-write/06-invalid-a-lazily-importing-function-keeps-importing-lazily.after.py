def build():
    import torch.nn as nn
    import torch
    layer = nn.Linear(2, 2)
    with torch.no_grad():
        layer.bias.zero_()
    return layer
