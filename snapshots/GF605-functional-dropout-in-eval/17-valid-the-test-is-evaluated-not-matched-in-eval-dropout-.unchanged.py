import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def forward(self, x):
        dropout_p = 0.0 if not self.training else self.p
        if dropout_p > 0.0:
            x = F.dropout(x, dropout_p)
        return x
