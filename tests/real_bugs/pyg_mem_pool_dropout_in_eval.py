"""Shape of pyg-team/pytorch_geometric (commit 5c6461b) examples/mem_pool.py, Net.forward: between the two
memory-pooling layers it calls `F.dropout(x, p=self.dropout)` without `training=`, so test(), which runs
under model.eval(), still drops activations: the reported validation and test accuracy are noisy and low.
Written for autofix; prints one JSON line: symptom = two eval calls on the same input differ."""
import json

import torch
import torch.nn.functional as F

torch.manual_seed(0)


class Net(torch.nn.Module):
    def __init__(self, in_channels=6, hidden_channels=16, out_channels=3, dropout=0.5):
        super().__init__()
        self.dropout = dropout
        self.lin = torch.nn.Linear(in_channels, hidden_channels)
        self.mem1 = torch.nn.Linear(hidden_channels, 8)
        self.mem2 = torch.nn.Linear(8, out_channels)

    def forward(self, x):
        x = self.lin(x)
        x = self.mem1(x)
        x = F.leaky_relu(x)
        x = F.dropout(x, p=self.dropout)
        x = self.mem2(x)
        return F.log_softmax(x, dim=-1)


@torch.no_grad()
def test(model, x):
    model.eval()
    return model(x)


model = Net()
x = torch.randn(20, 6)
difference = (test(model, x) - test(model, x)).abs().max().item()
print(json.dumps({"symptom": difference > 1e-6, "eval_output_difference": difference}))
