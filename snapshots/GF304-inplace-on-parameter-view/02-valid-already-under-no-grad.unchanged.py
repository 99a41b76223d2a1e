import torch

with torch.no_grad():
    layer.weight[0] = 1.0
