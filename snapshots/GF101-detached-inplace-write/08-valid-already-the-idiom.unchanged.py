import torch
with torch.no_grad():
    layer.weight.zero_()
