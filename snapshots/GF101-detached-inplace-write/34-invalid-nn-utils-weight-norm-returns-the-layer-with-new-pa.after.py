import torch.nn as nn
import torch


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.last_layer = nn.utils.weight_norm(nn.Linear(8, 8))
        with torch.no_grad():
            self.last_layer.weight_g.fill_(1)
