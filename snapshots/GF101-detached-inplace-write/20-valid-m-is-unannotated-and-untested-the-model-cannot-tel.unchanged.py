import torch.nn as nn

def init(m):
    m.weight.data.normal_(0.0, 0.02)
    m.bias.data[0] = 1
