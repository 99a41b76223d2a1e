import torch.nn as nn
import torch.nn.functional as F


class Propagate(nn.Module):
    def forward(self, x, w):
        if self.p > 0 and self.training:
            w = F.dropout(w, p=self.p)
        return x * w
