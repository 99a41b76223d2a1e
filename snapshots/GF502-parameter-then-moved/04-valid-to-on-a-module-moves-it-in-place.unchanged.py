import torch.nn as nn
model = nn.Linear(3, 3).to(device)
