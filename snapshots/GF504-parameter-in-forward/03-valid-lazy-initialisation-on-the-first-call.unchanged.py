import torch
import torch.nn as nn
class M(nn.Module):
    def forward(self, x):
        if self.proj is None:
            self.proj = nn.Linear(x.shape[-1], 8)
        return self.proj(x)
