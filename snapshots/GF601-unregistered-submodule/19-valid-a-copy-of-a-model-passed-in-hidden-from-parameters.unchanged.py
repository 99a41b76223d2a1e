import copy
import torch.nn as nn


class EMA(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.shadow = [copy.deepcopy(model)]
