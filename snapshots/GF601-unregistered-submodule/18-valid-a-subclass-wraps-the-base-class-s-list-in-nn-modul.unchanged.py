import torch.nn as nn


class Base(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [nn.Linear(8, 8) for _ in range(2)]


class Net(Base):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(self.layers)
