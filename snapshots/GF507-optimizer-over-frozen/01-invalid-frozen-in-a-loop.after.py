import torch
def train(model):
    for p in model.parameters():
        p.requires_grad = False
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
