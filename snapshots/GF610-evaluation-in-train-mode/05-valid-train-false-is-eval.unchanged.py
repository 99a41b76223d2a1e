import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16))
model.train(False)
with torch.no_grad():
    val = model(x_val)
