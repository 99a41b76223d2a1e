"""Shape of pyg-team/pytorch_geometric (commit 5c6461b) examples/explain/gnn_explainer_ba_shapes.py,
train(): `clip_grad_norm_` runs after zero_grad() and before loss.backward(), so it clips nothing
(the gradients are empty), and optimizer.step() applies the fresh, unclipped gradients.
The optimizer is upstream's, Adam(lr=0.001, weight_decay=0.005). Adam's update hardly depends on the
gradient's scale, so the program measures the mechanism: the norm of the gradient that the step receives
(read with Optimizer.register_step_pre_hook), which the clip was meant to hold to max_norm = 2.0.
Written for autofix; prints one JSON line: symptom = the step received a gradient larger than the clip allows."""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
max_norm = 2.0
optimizer = torch.optim.Adam(model.parameters(), lr=0.001, weight_decay=0.005)
x, y = torch.randn(64, 8) * 30, torch.randint(0, 3, (64,))
seen = []


def record(opt, args, kwargs):
    seen.append(torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item())


optimizer.register_step_pre_hook(record)


def train():
    model.train()
    optimizer.zero_grad()
    out = model(x)
    loss = F.cross_entropy(out, y)
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    loss.backward()
    optimizer.step()
    return float(loss)


for epoch in range(5):
    train()
largest = max(seen)
print(json.dumps({"symptom": largest > max_norm * 1.01, "largest_step_gradient_norm": largest, "max_norm": max_norm}))
