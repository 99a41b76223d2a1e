import torch.nn as nn

def init(m):
    nn.init.xavier_uniform_(m.weight.data)
