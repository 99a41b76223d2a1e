import torch

def load(path):
    return torch.tensor(read_image(path), requires_grad=True)
