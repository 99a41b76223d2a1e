import torch
import torch.nn as nn

for stage in stages:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    train(model, optimizer)
    model.fc = nn.Linear(512, stage.classes)
