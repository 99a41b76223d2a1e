import torch.nn as nn

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x
        out = self.relu(self.bn(self.conv(x)))
        out = out + identity
        return out
