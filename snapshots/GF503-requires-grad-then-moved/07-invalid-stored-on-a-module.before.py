import torch
import torch.nn as nn


class Prompt(nn.Module):
    def __init__(self, n, device):
        super().__init__()
        self.tokens = torch.randn(n, 16, requires_grad=True).to(device)
