import torch
import torch.nn.functional as F

for x, y in loader:
    loss = F.nll_loss(F.log_softmax(model(x), dim=1), y)
