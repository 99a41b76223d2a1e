"""Shape of pytorch/examples (commit 77f55b9) distributed/minGPT-ddp/mingpt/trainer.py, Trainer._run_batch:
with use_amp, the gradients are clipped right after `self.scaler.scale(loss).backward()`, before
`self.scaler.unscale_(self.optimizer)`. The clip measures gradients still multiplied by the loss scale
(65536 at first): it fires on every step, and after the scaler divides the scale back out, the optimizer
gets a gradient of norm max_norm / 65536 instead of max_norm.
Written for autofix; prints one JSON line: symptom = the gradient the optimizer step received is under
1/1000 of the clip norm (the raw gradient norm is far above it)."""
import json

import torch
import torch.nn as nn

torch.manual_seed(0)


class Trainer:
    def __init__(self, model, optimizer, grad_norm_clip=1.0):
        self.model = model
        self.optimizer = optimizer
        self.scaler = torch.amp.GradScaler("cpu")
        self.grad_norm_clip = grad_norm_clip

    def _run_batch(self, source, targets):
        loss = nn.functional.mse_loss(self.model(source), targets)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_norm_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss.item()


model = nn.Linear(8, 1)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95))
seen = []
optimizer.register_step_pre_hook(
    lambda opt, args, kwargs: seen.append(torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item()))
trainer = Trainer(model, optimizer)
source, targets = torch.randn(64, 8), torch.randn(64, 1) * 10
trainer._run_batch(source, targets)
print(json.dumps({"symptom": seen[0] < trainer.grad_norm_clip / 1000, "gradient_norm_at_step": seen[0],
                  "clip_norm": trainer.grad_norm_clip}))
