import torch
from torch import nn


def finetune(model, loader, num_classes):
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    device = next(model.parameters()).device
    model.classifier[6] = nn.Linear(4096, num_classes).to(device)
    train(model, loader, opt)
