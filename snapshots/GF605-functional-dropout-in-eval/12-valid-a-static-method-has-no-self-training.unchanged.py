import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    @staticmethod
    def noise(x):
        return F.dropout(x, 0.1)
