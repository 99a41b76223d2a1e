import torch.nn as nn

fc = nn.Linear(4, 2)
fc.weight.requires_grad = False
