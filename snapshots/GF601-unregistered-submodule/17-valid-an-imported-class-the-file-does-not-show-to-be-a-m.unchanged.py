import torch.nn as nn
from mylib import Encoder


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoders = [Encoder() for _ in range(2)]
