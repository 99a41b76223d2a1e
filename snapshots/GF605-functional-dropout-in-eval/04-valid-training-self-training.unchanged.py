import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def forward(self, x):
        return F.dropout(x, 0.1, training=self.training)
