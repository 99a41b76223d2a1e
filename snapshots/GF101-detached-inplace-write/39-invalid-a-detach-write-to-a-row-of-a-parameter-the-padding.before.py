import torch.nn as nn


class Recycler(nn.Module):
    def __init__(self):
        super().__init__()
        self.bins = nn.Embedding(15, 8)
        self.bins.weight[0].detach().zero_()
