import torch as T

def make():
    b = T.zeros(10, requires_grad=True)
    b[0] = 1.0
    return b
