import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [nn.Linear(8, 8) for _ in range(2)]
        self.layers = nn.ModuleList(layers)
