import torch
from torch import nn


def finetune(model, loader, num_classes):
    device = next(model.parameters()).device
    model.classifier[6] = nn.Linear(4096, num_classes).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    train(model, loader, opt)
