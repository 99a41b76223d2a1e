import torch
import torch.nn.functional as F

def validation_step(model, x, y):
    return torch.tensor(F.cross_entropy(model(x), y).item())
