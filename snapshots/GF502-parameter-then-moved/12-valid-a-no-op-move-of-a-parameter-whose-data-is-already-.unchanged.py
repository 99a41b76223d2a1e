import torch.nn as nn


class Scale(nn.Module):
    def __init__(self, value, device):
        super().__init__()
        x = value.to(device)
        self.w = nn.Parameter(x).to(device)
