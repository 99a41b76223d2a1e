import torch as T

def init(m: T.nn.Linear):
    with T.no_grad():
        m.weight.normal_(0.0, 0.02)
        m.bias.fill_(0)
