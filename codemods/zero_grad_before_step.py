"""GF402: `zero_grad()` between backward() and step() of the same optimizer."""
from __future__ import annotations

import re


from autofix.rule import Applicability, Effect, Invalid, Rule, Scenario, Valid
from codemods._steps import BlockRule, any_backward, backward_kind, move_fix, optimizer_step, zero_grad


_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
x = torch.randn(64, 8, generator=g).to(device)
y = x.sum(dim=1, keepdim=True)
for step in range(10):
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.zero_grad()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
"""

class ZeroGradBeforeStep(BlockRule, Rule):
    """
    ## What it does
    Finds `optimizer.zero_grad()` (or `model.zero_grad()`) placed after the `backward()` that feeds an
    `optimizer.step()` and before that step, often with gradient clipping in between.

    ## Why is this bad?
    The step sees zeroed (or `None`) gradients and does nothing: parameters never move, silently (autograd
    fact "backward(); zero_grad(); step() leaves parameters unchanged, silently"). Adam and friends still
    update their step counters, so the run looks normal.

    ## Example
    ```python
    loss.backward()
    optimizer.zero_grad()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    ```

    ## Use instead
    ```python
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    ```

    ## Runtime
    Silent: `step()` runs with zero or `None` gradients and no parameter changes.

    ## Fix safety
    Safe: `zero_grad()` moves to just before the `backward()`, the latest point that is always correct
    for a single-loss step. The rule checks that the statements it crosses do not write a name it reads.
    The fix repairs behaviour. In a GAN, `opt_g.zero_grad()` after the discriminator's `backward()`
    belongs to the generator's own `backward()` that follows, and is not reported.
    """

    code = "GF402"
    name = "zero-grad-before-step"
    message = "zero_grad() between backward() and step(): the step sees no gradients"
    runtime = "silent: step() runs with zeroed gradients; no parameter changes"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"zero_grad\(")

    examples = (
        Invalid(
            "for x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.zero_grad()\n"
            "    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    optimizer.step()\n",
            "for x, y in loader:\n    loss = criterion(model(x), y)\n    optimizer.zero_grad()\n    loss.backward()\n"
            "    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    optimizer.step()\n",
            "zero_grad between backward and step, with clipping",
        ),
        Invalid(
            "for x, y in loader:\n    with autocast():\n        loss = criterion(model(x), y)\n"
            "    scaler.scale(loss).backward()\n    scaler.unscale_(opt)\n    opt.zero_grad(set_to_none=True)\n"
            "    clip_grad_norm_(model.parameters(), 1.0)\n    scaler.step(opt)\n    scaler.update()\n",
            "for x, y in loader:\n    with autocast():\n        loss = criterion(model(x), y)\n"
            "    opt.zero_grad(set_to_none=True)\n    scaler.scale(loss).backward()\n    scaler.unscale_(opt)\n"
            "    clip_grad_norm_(model.parameters(), 1.0)\n    scaler.step(opt)\n    scaler.update()\n",
            "AMP",
        ),
        Invalid(
            "def training_step(self, batch, idx):\n    opt = self.optimizers()\n    loss = self.compute(batch)\n"
            "    self.manual_backward(loss)\n    opt.zero_grad()\n    opt.step()\n",
            "def training_step(self, batch, idx):\n    opt = self.optimizers()\n    loss = self.compute(batch)\n"
            "    opt.zero_grad()\n    self.manual_backward(loss)\n    opt.step()\n",
            "Lightning manual optimisation",
        ),
        Valid(
            "for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n"
            "    optimizer.step()\n",
            "the right order",
        ),
        Valid(
            "for x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n"
            "    optimizer.zero_grad()\n",
            "step(); zero_grad() at the end of the iteration",
        ),
        Valid(
            "for real, z in loader:\n    d_loss = bce(D(G(z).detach()), zeros)\n    opt_d.zero_grad()\n"
            "    d_loss.backward()\n    opt_d.step()\n    g_loss = bce(D(G(z)), ones)\n    opt_g.zero_grad()\n"
            "    g_loss.backward()\n    opt_g.step()\n",
            "a GAN with two optimizers",
        ),
    )

    scenarios = (Scenario("mlp-zero-grad-after-backward", _SCENARIO),)

    def check_block(self, block) -> None:
        kinds = [backward_kind(s) for s in block]
        if "higher-order" in kinds:
            return
        steps = {i: optimizer_step(s, self.bindings) for i, s in enumerate(block)}
        stepped = {name for name in steps.values() if name}
        for step_index, optimizer in steps.items():
            if not optimizer:
                continue
            backward = next((i for i in range(step_index - 1, -1, -1) if kinds[i] == "plain"), None)
            if backward is None:
                continue
            if any_backward(block[backward + 1 : step_index]):
                continue
            zeroing = [
                i
                for i in range(backward + 1, step_index)
                if (receiver := zero_grad(block[i])) is not None
                and (receiver == optimizer or (len(stepped) == 1 and not self.bindings.is_optimizer(receiver)))
            ]
            if not zeroing:
                continue
            fix = move_fix(block, zeroing, after_index=None, before_index=backward, effect=Effect.REPAIRING)
            step_line = self.position(block[step_index]).start.line
            for index in zeroing:
                self.report(
                    block[index],
                    f"zero_grad() between backward() and the step at line {step_line}: the step sees no gradients; "
                    "clear them before backward()",
                    fix,
                )
