import torch
import torch.nn as nn


class Codebook(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("ema", torch.zeros(8))

    def update(self, x, decay):
        self.ema.data.mul_(decay).add_(x, alpha=1 - decay)
