"""Shape of pytorch/captum (commit faac0877) tutorials/Titanic_Basic_Interpret.ipynb, cells 13 and 15:
`TitanicSimpleNNModel.forward` ends in `nn.Softmax(dim=1)`, and when the tutorial trains the model itself
(`USE_PRETRAINED_MODEL = False`), its output goes to `nn.CrossEntropyLoss`, which applies log_softmax again.
The loss cannot go below log(1 + 1/e) = 0.313 for two classes, and the gradients are smaller.
The setup is upstream's: Adam(lr=0.1), 200 full-batch epochs, two sigmoid hidden layers (12 and 8 units); the
data are a synthetic stand-in for the 12 Titanic features. Written for autofix; prints one JSON line with the
first step's gradient norm, the final loss, the floor, and the training accuracy."""
import json
import math

import torch
import torch.nn as nn

torch.manual_seed(1)


class TitanicSimpleNNModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear1 = nn.Linear(12, 12)
        self.sigmoid1 = nn.Sigmoid()
        self.linear2 = nn.Linear(12, 8)
        self.sigmoid2 = nn.Sigmoid()
        self.linear3 = nn.Linear(8, 2)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        sigmoid_out1 = self.sigmoid1(self.linear1(x))
        sigmoid_out2 = self.sigmoid2(self.linear2(sigmoid_out1))
        return self.softmax(self.linear3(sigmoid_out2))


features = torch.randn(700, 12)
labels = (features[:, 0] + features[:, 1] * features[:, 2] > 0).long()
net = TitanicSimpleNNModel()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(net.parameters(), lr=0.1)
first_grad_norm = None
for epoch in range(200):
    output = net(features)
    loss = criterion(output, labels)
    optimizer.zero_grad()
    loss.backward()
    if first_grad_norm is None:
        first_grad_norm = torch.cat([p.grad.flatten() for p in net.parameters()]).norm().item()
    optimizer.step()
with torch.no_grad():
    accuracy = (net(features).argmax(dim=1) == labels).float().mean().item()
print(json.dumps({"first_grad_norm": first_grad_norm, "final_loss": loss.item(),
                  "floor": math.log(1 + math.exp(-1)), "accuracy": accuracy}))
