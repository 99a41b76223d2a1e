import torch
import torch.nn as nn
from utils import freeze_for_eval

model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
freeze_for_eval(model)
with torch.no_grad():
    out = model(x)
