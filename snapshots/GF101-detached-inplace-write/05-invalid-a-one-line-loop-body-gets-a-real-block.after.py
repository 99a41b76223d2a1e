import torch

def reset(layer):
    for w in layer.parameters():
        with torch.no_grad():
            w.zero_()
