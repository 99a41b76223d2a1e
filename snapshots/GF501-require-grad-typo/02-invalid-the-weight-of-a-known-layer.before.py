import torch.nn as nn

fc = nn.Linear(4, 2)
fc.weight.require_grad = False
