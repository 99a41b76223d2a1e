import torch
import torch.nn as nn


class Masked(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.fc = nn.Linear(n, n)
        self.register_buffer('mask', torch.tril(torch.ones(n, n)))
        self.causal = torch.tril(torch.ones(n, n))

    def forward(self, x):
        return self.fc(x) * self.mask * self.causal
