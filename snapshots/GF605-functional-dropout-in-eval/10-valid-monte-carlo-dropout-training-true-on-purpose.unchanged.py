import torch.nn as nn
import torch.nn.functional as F


class Bayesian(nn.Module):
    def forward(self, x):
        return F.dropout(x, 0.2, training=True)
