"""Shape of RecBole (PyPI 1.2.1; RUCAIBox/RecBole @ 7b02be5) recbole/trainer/trainer.py:263 (and :1475),
Trainer._train_epoch: with `enable_scaler` and `clip_grad_norm` both configured, the gradients are clipped
right after `scaler.scale(loss).backward()`, with no `scaler.unscale_(self.optimizer)` first. The clip
measures gradients times the loss scale, fires on every step, and the optimizer gets gradients of norm
max_norm / 65536.
Written for autofix; prints one JSON line: symptom = the gradient the optimizer step received is under
1/1000 of the clip norm (the raw gradient norm is above it)."""
import json

import torch
import torch.nn as nn
from torch.nn.utils.clip_grad import clip_grad_norm_

torch.manual_seed(0)


class Trainer:
    def __init__(self, config, model):
        self.model = model
        self.clip_grad_norm = config["clip_grad_norm"]
        self.enable_scaler = config["enable_scaler"]
        self.optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def _train_epoch(self, train_data):
        self.model.train()
        scaler = torch.amp.GradScaler("cpu", enabled=self.enable_scaler)
        total_loss = 0.0
        for interaction, label in train_data:
            self.optimizer.zero_grad()
            loss = nn.functional.binary_cross_entropy_with_logits(self.model(interaction).squeeze(-1), label)
            total_loss += loss.item()
            scaler.scale(loss).backward()
            if self.clip_grad_norm:
                clip_grad_norm_(self.model.parameters(), **self.clip_grad_norm)
            scaler.step(self.optimizer)
            scaler.update()
        return total_loss


model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
seen = []
trainer = Trainer({"clip_grad_norm": {"max_norm": 0.1, "norm_type": 2}, "enable_scaler": True}, model)
trainer.optimizer.register_step_pre_hook(
    lambda opt, args, kwargs: seen.append(torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item()))
train_data = [(torch.randn(64, 8) * 3, torch.randint(0, 2, (64,)).float()) for _ in range(3)]
trainer._train_epoch(train_data)
print(json.dumps({"symptom": max(seen) < 0.1 / 1000, "gradient_norms_at_step": seen, "clip_norm": 0.1}))
