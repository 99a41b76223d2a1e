"""Shape of zergtant/pytorch-handbook (commit e9a1492) chapter5/5.2-Structured-Data.ipynb: `tabularModel`
(three Linear layers with BatchNorm) ends its forward with `torch.sigmoid`, and its two outputs go to
`nn.CrossEntropyLoss`, which applies log_softmax itself. The loss cannot go below log(1 + e^-1) = 0.313 for two
classes and the gradients are smaller.
The setup is upstream's: Adam(lr=0.01), minibatches of 1024; the data are a synthetic stand-in for the census
table (14 features, two classes), and 20 epochs stand in for upstream's 100. Written for autofix; prints one
JSON line with the first step's gradient norm, the final epoch's mean loss, the floor, and the accuracy."""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


class tabularModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin1 = nn.Linear(14, 500)
        self.lin2 = nn.Linear(500, 100)
        self.lin3 = nn.Linear(100, 2)
        self.bn_in = nn.BatchNorm1d(14)
        self.bn1 = nn.BatchNorm1d(500)
        self.bn2 = nn.BatchNorm1d(100)

    def forward(self, x_in):
        x = self.bn_in(x_in)
        x = F.relu(self.lin1(x))
        x = self.bn1(x)
        x = F.relu(self.lin2(x))
        x = self.bn2(x)
        x = self.lin3(x)
        x = torch.sigmoid(x)
        return x


data = torch.randn(4096, 14)
labels = (data[:, 0] - data[:, 1] + 0.5 * data[:, 2] > 0).long()
model = tabularModel()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
first_grad_norm = None
model.train()
for epoch in range(20):
    losses = []
    for start in range(0, len(data), 1024):
        x, y = data[start:start + 1024], labels[start:start + 1024]
        optimizer.zero_grad()
        outputs = model(x)
        loss = criterion(outputs, y)
        loss.backward()
        if first_grad_norm is None:
            first_grad_norm = torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item()
        optimizer.step()
        losses.append(loss.item())
model.eval()
with torch.no_grad():
    accuracy = (model(data).argmax(dim=1) == labels).float().mean().item()
print(json.dumps({"first_grad_norm": first_grad_norm, "final_loss": sum(losses) / len(losses),
                  "floor": math.log(1 + math.exp(-1)), "accuracy": accuracy}))
