"""Shape of zergtant/pytorch-handbook (commit e9a1492) chapter3/3.1-logistic-regression.ipynb: the model `LR`
ends its forward with `torch.sigmoid`, and its two outputs go to `nn.CrossEntropyLoss`, which applies
log_softmax itself. Each class's "logit" is squeezed into (0, 1), so the loss cannot go below
log(1 + e^-1) = 0.313 for two classes and the gradients are smaller.
The setup is upstream's: Linear(24, 2), Adam with its default lr, 1000 full-batch steps; the data are a
synthetic, linearly separable stand-in for the German credit data. Written for autofix; prints one JSON line
with the first step's gradient norm, the final loss, the floor, and the accuracy."""
import json
import math

import torch
import torch.nn as nn

torch.manual_seed(0)


class LR(nn.Module):
    def __init__(self):
        super(LR, self).__init__()
        self.fc = nn.Linear(24, 2)

    def forward(self, x):
        out = self.fc(x)
        out = torch.sigmoid(out)
        return out


x = torch.randn(800, 24)
y = (x[:, :4].sum(dim=1) > 0).long()
net = LR()
criterion = nn.CrossEntropyLoss()
optm = torch.optim.Adam(net.parameters())
first_grad_norm = None
for i in range(1000):
    net.train()
    y_hat = net(x)
    loss = criterion(y_hat, y)
    optm.zero_grad()
    loss.backward()
    if first_grad_norm is None:
        first_grad_norm = torch.cat([p.grad.flatten() for p in net.parameters()]).norm().item()
    optm.step()
with torch.no_grad():
    net.eval()
    accuracy = (net(x).argmax(dim=1) == y).float().mean().item()
floor = math.log(1 + math.exp(-1))
print(json.dumps({"first_grad_norm": first_grad_norm, "final_loss": loss.item(), "floor": floor,
                  "accuracy": accuracy}))
