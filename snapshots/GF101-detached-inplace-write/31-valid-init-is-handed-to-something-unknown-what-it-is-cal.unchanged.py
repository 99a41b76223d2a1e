import torch.nn as nn


def init(m):
    m.weight.data.zero_()


register(init)
