import torch as T

def make():
    b = T.zeros(10, requires_grad=True)
    with T.no_grad():
        b[0] = 1.0
    return b
