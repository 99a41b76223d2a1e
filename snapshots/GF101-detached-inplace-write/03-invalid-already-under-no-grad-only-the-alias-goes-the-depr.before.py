import torch

def sgd(model, lr):
    with torch.no_grad():
        for p in model.parameters():
            p.data.add_(-lr, p.grad.data)
