import torch

def reset(layer):
    for w in layer.weights:
        with torch.no_grad():
            w.zero_()
