import torch.nn as nn
import torch


class Recycler(nn.Module):
    def __init__(self):
        super().__init__()
        self.bins = nn.Embedding(15, 8)
        with torch.no_grad():
            self.bins.weight[0].zero_()
