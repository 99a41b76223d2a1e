"""Shape of locuslab/TCN (commit 2f8c2b8) TCN/copy_memory/copymem_test.py, train(): with the default
`--clip 1.0`, `clip_grad_norm_` runs after optimizer.zero_grad() and before loss.backward(), so it clips the
empty gradients, and optimizer.step() applies the fresh, unclipped ones.
The optimizer is upstream's default, RMSprop(lr=5e-4). The program measures the mechanism: the norm of the
gradient that the step receives (read with Optimizer.register_step_pre_hook), which the clip was meant to hold
to 1.0. Inputs are token ids fed as raw floats, as upstream does (a small 1-d conv net stands in for the TCN).
Written for autofix; prints one JSON line: symptom = the step received a gradient larger than the clip allows."""
import json

import torch
import torch.nn as nn

torch.manual_seed(0)
n_classes, seq_len, batch_size = 10, 30, 32
model = nn.Sequential(nn.Conv1d(1, 10, 8, padding=7), nn.ReLU(), nn.Conv1d(10, 10, 8, padding=7), nn.ReLU(),
                      nn.Conv1d(10, n_classes, 1))
clip = 1.0
optimizer = torch.optim.RMSprop(model.parameters(), lr=5e-4)
criterion = nn.CrossEntropyLoss()
seen = []


def record(opt, args, kwargs):
    seen.append(torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item())


optimizer.register_step_pre_hook(record)


def train():
    model.train()
    for _ in range(10):
        x = torch.randint(0, 9, (batch_size, seq_len)).float()
        y = torch.randint(0, 9, (batch_size, seq_len))
        optimizer.zero_grad()
        out = model(x.unsqueeze(1).contiguous())[:, :, :seq_len].transpose(1, 2)
        loss = criterion(out.reshape(-1, n_classes), y.view(-1))
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        loss.backward()
        optimizer.step()


train()
largest = max(seen)
print(json.dumps({"symptom": largest > clip * 1.01, "largest_step_gradient_norm": largest, "max_norm": clip}))
