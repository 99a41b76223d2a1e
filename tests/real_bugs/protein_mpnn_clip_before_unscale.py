"""Shape of pyg-team/pytorch_geometric (commit 5c6461b) examples/llm/protein_mpnn.py, train(): with
--mixed_precision, `scaler.scale(loss).backward()` is followed by `clip_grad_norm_` with no
`scaler.unscale_(optimizer)` between them. The clip measures the gradients times the loss scale, fires
on every step, and the optimizer gets gradients of norm gradient_norm / 65536.
Written for autofix; prints one JSON line: symptom = the gradients each optimizer step received were under
1/1000 of the clip norm (the raw gradient norm is above it)."""
import json

import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-9)
scaler = torch.amp.GradScaler("cpu")
gradient_norm = 0.5
x, y = torch.randn(128, 8) * 5, torch.randint(0, 4, (128,))
seen = []
optimizer.register_step_pre_hook(
    lambda opt, args, kwargs: seen.append(torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item()))


def train():
    model.train()
    for step in range(5):
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(x)
        loss = nn.functional.cross_entropy(logits.float(), y)
        scaler.scale(loss).backward()
        if gradient_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), gradient_norm)
        scaler.step(optimizer)
        scaler.update()


train()
print(json.dumps({"symptom": max(seen) < gradient_norm / 1000, "gradient_norms_at_step": seen,
                  "clip_norm": gradient_norm}))
