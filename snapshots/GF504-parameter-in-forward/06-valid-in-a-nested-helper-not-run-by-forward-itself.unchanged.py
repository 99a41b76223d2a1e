import torch.nn as nn
class M(nn.Module):
    def forward(self, x):
        def make():
            return nn.Linear(4, 8)
        return x
