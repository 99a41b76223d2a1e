import numpy as np
import torch

def as_leaf(path):
    t = torch.from_numpy(np.load(path))
    t.requires_grad_()
    return t
