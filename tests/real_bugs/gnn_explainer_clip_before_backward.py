"""Shape of pyg-team/pytorch_geometric (commit 5c6461b) examples/explain/gnn_explainer_ba_shapes.py,
train(): `clip_grad_norm_` runs after zero_grad() and before loss.backward(), so it clips nothing
(the gradients are empty), and optimizer.step() applies the fresh, unclipped gradients.
Written for autofix; prints one JSON line: symptom = the update was larger than the clip allows."""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
lr, max_norm = 0.1, 2.0
optimizer = torch.optim.SGD(model.parameters(), lr=lr)
x, y = torch.randn(64, 8) * 30, torch.randint(0, 3, (64,))


def train():
    model.train()
    optimizer.zero_grad()
    out = model(x)
    loss = F.cross_entropy(out, y)
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    loss.backward()
    optimizer.step()
    return float(loss)


before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
train()
after = torch.cat([p.detach().flatten() for p in model.parameters()])
update_norm = ((after - before).norm() / lr).item()
print(json.dumps({"symptom": update_norm > max_norm * 1.01, "update_norm": update_norm, "max_norm": max_norm}))
