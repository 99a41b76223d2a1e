"""Shape of locuslab/TCN (commit 2f8c2b8) TCN/poly_music/music_test.py, train(): with the default
`--clip 0.2`, `clip_grad_norm_` runs after optimizer.zero_grad() and before loss.backward(), so it clips the
empty gradients, and optimizer.step() applies the fresh, unclipped ones.
The optimizer is upstream's default, Adam(lr=1e-3). Adam's update hardly depends on the gradient's scale, so the
program measures the mechanism: the norm of the gradient that the step receives (read with
Optimizer.register_step_pre_hook), which the clip was meant to hold to 0.2. The loss is upstream's summed
binary cross-entropy over the piano roll (a small 1-d conv net with a sigmoid stands in for the TCN).
Written for autofix; prints one JSON line: symptom = the step received a gradient larger than the clip allows."""
import json

import torch
import torch.nn as nn

torch.manual_seed(0)
n_notes, seq_len = 88, 40
model = nn.Sequential(nn.Conv1d(n_notes, 32, 3, padding=1), nn.ReLU(), nn.Conv1d(32, n_notes, 1), nn.Sigmoid())
clip = 0.2
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
seen = []


def record(opt, args, kwargs):
    seen.append(torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item())


optimizer.register_step_pre_hook(record)


def train():
    model.train()
    for _ in range(10):
        roll = (torch.rand(seq_len + 1, n_notes) < 0.1).float()
        x, y = roll[:-1], roll[1:]
        optimizer.zero_grad()
        output = model(x.t().unsqueeze(0)).squeeze(0).t()
        loss = -torch.trace(torch.matmul(y, torch.log(output).float().t())
                            + torch.matmul((1 - y), torch.log(1 - output).float().t()))
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        loss.backward()
        optimizer.step()


train()
largest = max(seen)
print(json.dumps({"symptom": largest > clip * 1.01, "largest_step_gradient_norm": largest, "max_norm": clip}))
