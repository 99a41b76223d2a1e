from torch import nn
from torch.nn.functional import dropout2d as drop


class Net(nn.Module):
    def forward(this, x):
        return drop(x, p=0.2, inplace=False)
