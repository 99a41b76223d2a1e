import torch
import torch.nn.functional as F

for x, y in loader:
    loss = F.nll_loss(torch.exp(F.log_softmax(model(x), dim=1)), y)
