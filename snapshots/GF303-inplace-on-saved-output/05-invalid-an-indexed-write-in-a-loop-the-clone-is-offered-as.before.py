import torch

weight = torch.randn(4, 8, requires_grad=True)

def normalise_rows(x, masks):
    for mask in masks:
        probs = (x @ weight).softmax(-1)
        probs[mask] = 0.0
        yield probs
