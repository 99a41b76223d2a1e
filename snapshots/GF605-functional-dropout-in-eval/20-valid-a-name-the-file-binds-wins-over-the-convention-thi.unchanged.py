import torch.nn as nn


class Head(nn.Module):
    def forward(self, x, F):
        return F.dropout(self.fc(x), 0.1)
