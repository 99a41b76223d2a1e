import torch as T

def init(m: T.nn.Linear):
    m.weight.data.normal_(0.0, 0.02)
    m.bias.data.fill_(0)
