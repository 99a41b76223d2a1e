import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 4), nn.Dropout())


def prepare(m):
    m.eval()
    return m


prepare(model)
with torch.no_grad():
    out = model(x)
