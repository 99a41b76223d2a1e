import torch

def reset(layer):
    for w in layer.weights: w.data.zero_()
