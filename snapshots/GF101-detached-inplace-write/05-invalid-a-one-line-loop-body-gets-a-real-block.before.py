import torch

def reset(layer):
    for w in layer.parameters(): w.data.zero_()
