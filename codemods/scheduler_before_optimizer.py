"""GF403: `scheduler.step()` before `optimizer.step()`."""
from __future__ import annotations

import re


from autofix.rule import Applicability, Effect, Invalid, Rule, Scenario, Valid
from codemods._steps import BlockRule, contains, move_fix, optimizer_step, scheduler_step


_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
x = torch.randn(64, 8, generator=g).to(device)
y = x.sum(dim=1, keepdim=True)
for step in range(10):
    scheduler.step()
    optimizer.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
"""

class SchedulerBeforeOptimizer(BlockRule, Rule):
    """
    ## What it does
    Finds an argument-free `scheduler.step()` placed before the `optimizer.step()` it schedules (in the same
    block, or before the loop that holds the optimizer steps), with no optimizer step earlier in the block.

    ## Why is this bad?
    Since PyTorch 1.1 the scheduler must step after the optimizer. Stepping it first skips the first value of
    the schedule: with `StepLR(gamma=0.5)` and `lr=1.0`, the steps use 0.5, 0.25, ... instead of 1.0, 0.5, ...
    (checked on torch 2.13). PyTorch warns once ("Detected call of `lr_scheduler.step()` before
    `optimizer.step()`") and then stays silent.

    ## Example
    ```python
    for epoch in range(epochs):
        scheduler.step()
        for x, y in loader:
            ...
            optimizer.step()
    ```

    ## Use instead
    ```python
    for epoch in range(epochs):
        for x, y in loader:
            ...
            optimizer.step()
        scheduler.step()
    ```

    ## Runtime
    A one-time warning, then a schedule that runs one step ahead.

    ## Fix safety
    Safe: `scheduler.step()` moves to just after the statement that steps the optimizer, when the statements
    it crosses do not write a name it reads. The fix repairs behaviour: the schedule starts at its first
    value. `ReduceLROnPlateau.step(metric)` takes an argument and is not reported.
    """

    code = "GF403"
    name = "scheduler-before-optimizer"
    message = "scheduler.step() before optimizer.step() skips the first value of the schedule"
    runtime = "a one-time UserWarning, then the schedule runs one step ahead"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"\.step\(\)[\s\S]*\.step\(")

    examples = (
        Invalid(
            "for x, y in loader:\n    scheduler.step()\n    loss = criterion(model(x), y)\n    loss.backward()\n"
            "    optimizer.step()\n    optimizer.zero_grad()\n",
            "for x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n"
            "    scheduler.step()\n    optimizer.zero_grad()\n",
            "per-iteration schedule",
        ),
        Invalid(
            "for epoch in range(epochs):\n    lr_scheduler.step()\n    for x, y in loader:\n"
            "        loss = criterion(model(x), y)\n        loss.backward()\n        optimizer.step()\n",
            "for epoch in range(epochs):\n    for x, y in loader:\n        loss = criterion(model(x), y)\n"
            "        loss.backward()\n        optimizer.step()\n    lr_scheduler.step()\n",
            "per-epoch schedule stepped before the epoch's loop",
        ),
        Valid(
            "for epoch in range(epochs):\n    for x, y in loader:\n        loss.backward()\n        optimizer.step()\n"
            "    scheduler.step()\n",
            "the right order",
        ),
        Valid("for epoch in range(epochs):\n    train(model, optimizer)\n    scheduler.step(val_loss)\n",
              "ReduceLROnPlateau takes a metric"),
    )

    scenarios = (Scenario("mlp-steplr-stepped-first", _SCENARIO),)

    def check_block(self, block) -> None:
        steps_optimizer = lambda s: optimizer_step(s, self.bindings) is not None  # noqa: E731
        for index, statement in enumerate(block):
            if scheduler_step(statement, self.bindings) is None:
                continue
            if any(contains(s, steps_optimizer) for s in block[:index]):
                continue
            later = next((j for j in range(index + 1, len(block)) if contains(block[j], steps_optimizer)), None)
            if later is None:
                continue
            fix = move_fix(block, [index], after_index=later, before_index=None, effect=Effect.REPAIRING)
            line = self.position(block[later]).start.line
            self.report(
                statement,
                f"scheduler.step() before the optimizer step at line {line} skips the schedule's first value; "
                "step the scheduler after the optimizer",
                fix,
            )
