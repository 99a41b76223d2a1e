import torch.nn as nn
import torch.nn.functional as F


class Base(nn.Module):
    pass


class Head(Base):
    def forward(self, x):
        return F.dropout(x)
