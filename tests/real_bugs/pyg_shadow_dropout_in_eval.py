"""Shape of pyg-team/pytorch_geometric (commit 5c6461b) examples/shadow.py, GNN.forward: of its three
`F.dropout` calls, the first has no `training=self.training` (the two after it do), so inference under
model.eval() still drops 30% of the first layer's activations.
Written for autofix; prints one JSON line: symptom = two eval calls on the same input differ."""
import json

import torch
import torch.nn.functional as F

torch.manual_seed(0)


class GNN(torch.nn.Module):
    def __init__(self, in_channels=6, hidden_channels=16, out_channels=3):
        super().__init__()
        self.conv1 = torch.nn.Linear(in_channels, hidden_channels)
        self.conv2 = torch.nn.Linear(hidden_channels, hidden_channels)
        self.conv3 = torch.nn.Linear(hidden_channels, hidden_channels)
        self.lin = torch.nn.Linear(hidden_channels, out_channels)

    def forward(self, x):
        x = self.conv1(x).relu()
        x = F.dropout(x, p=0.3)
        x = self.conv2(x).relu()
        x = F.dropout(x, p=0.3, training=self.training)
        x = self.conv3(x).relu()
        x = F.dropout(x, p=0.3, training=self.training)
        return self.lin(x)


model = GNN()
model.eval()
x = torch.randn(20, 6)
with torch.no_grad():
    difference = (model(x) - model(x)).abs().max().item()
print(json.dumps({"symptom": difference > 1e-6, "eval_output_difference": difference}))
