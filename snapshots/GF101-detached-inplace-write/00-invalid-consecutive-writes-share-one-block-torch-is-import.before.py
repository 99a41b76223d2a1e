import torch.nn as nn


class Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 2)
        self.linear.weight.detach().zero_()
        self.linear.bias.detach().zero_()
