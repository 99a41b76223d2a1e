"""GF403: `scheduler.step()` before `optimizer.step()`."""
from __future__ import annotations

import re

from autofix.rule import Applicability, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import SemanticModel
from codemods._steps import Evidence, blocks_around, build_move, contains, plan_move


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

class SchedulerBeforeOptimizer(Rule):
    """
    ## What it does
    Finds an argument-free `scheduler.step()` placed before the `optimizer.step()` it schedules (in the same
    block, or before the loop that holds the optimizer steps), with no optimizer step earlier in the block.
    A scheduler is what the semantic model knows as one (`torch.optim.lr_scheduler.*`), or, where the
    definitions say nothing (a library the file does not show, a fragment), a name bound once to a call whose
    first argument is an optimizer, stepped without argument and never cleared with `zero_grad()` itself
    (an optimizer wrapper such as `Lookahead(opt)` is cleared itself, and stepped instead of the inner one).

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
            "import torch\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=100)\nfor x, y in loader:\n"
            "    scheduler.step()\n    loss = criterion(model(x), y)\n    loss.backward()\n"
            "    optimizer.step()\n    optimizer.zero_grad()\n",
            "import torch\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=100)\nfor x, y in loader:\n"
            "    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n"
            "    scheduler.step()\n    optimizer.zero_grad()\n",
            "per-iteration schedule",
        ),
        Invalid(
            "from torch.optim.lr_scheduler import CosineAnnealingLR\n\n"
            "lr_scheduler = CosineAnnealingLR(optimizer, T_max=epochs)\nfor epoch in range(epochs):\n"
            "    lr_scheduler.step()\n    for x, y in loader:\n        loss = criterion(model(x), y)\n"
            "        loss.backward()\n        optimizer.step()\n",
            "from torch.optim.lr_scheduler import CosineAnnealingLR\n\n"
            "lr_scheduler = CosineAnnealingLR(optimizer, T_max=epochs)\nfor epoch in range(epochs):\n"
            "    for x, y in loader:\n        loss = criterion(model(x), y)\n        loss.backward()\n"
            "        optimizer.step()\n    lr_scheduler.step()\n",
            "per-epoch schedule stepped before the epoch's loop",
        ),
        Valid(
            "for epoch in range(epochs):\n    for x, y in loader:\n        loss.backward()\n        optimizer.step()\n"
            "    scheduler.step()\n",
            "the right order",
        ),
        Valid("for epoch in range(epochs):\n    train(model, optimizer)\n    scheduler.step(val_loss)\n",
              "ReduceLROnPlateau takes a metric"),
        Invalid(
            "import torch\n\n\nclass Trainer:\n    def __init__(self, model):\n"
            "        self.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)\n"
            "        self.scheduler = torch.optim.lr_scheduler.LinearLR(self.optimizer)\n\n"
            "    def step(self, loss):\n        self.scheduler.step()\n        loss.backward()\n"
            "        self.optimizer.step()\n        self.optimizer.zero_grad()\n",
            "import torch\n\n\nclass Trainer:\n    def __init__(self, model):\n"
            "        self.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)\n"
            "        self.scheduler = torch.optim.lr_scheduler.LinearLR(self.optimizer)\n\n"
            "    def step(self, loss):\n        loss.backward()\n        self.optimizer.step()\n"
            "        self.scheduler.step()\n        self.optimizer.zero_grad()\n",
            "a scheduler and an optimizer the model knows from __init__",
        ),
        Valid(
            "import torch\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "with torch.profiler.profile() as prof:\n    for x, y in loader:\n        prof.step()\n"
            "        loss = criterion(model(x), y)\n        loss.backward()\n        optimizer.step()\n"
            "        optimizer.zero_grad()\n",
            "a profiler's step() before the optimizer's: not a scheduler",
        ),
        Valid(
            "import torch\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=100)\nfor x, y in loader:\n"
            "    optimizer.step()\n    scheduler.step()\n    loss = criterion(model(x), y)\n    loss.backward()\n"
            "    optimizer.zero_grad()\n",
            "an optimizer step earlier in the block (its own order is GF401's business)",
        ),
        Invalid(
            "from warmup import linear_warmup\n\n\ndef fit(net, batches, opt, criterion):\n"
            "    ramp = linear_warmup(opt, 500)\n    for inputs, labels in batches:\n        ramp.step()\n"
            "        criterion(net(inputs), labels).backward()\n        opt.step()\n        opt.zero_grad()\n",
            "from warmup import linear_warmup\n\n\ndef fit(net, batches, opt, criterion):\n"
            "    ramp = linear_warmup(opt, 500)\n    for inputs, labels in batches:\n"
            "        criterion(net(inputs), labels).backward()\n        opt.step()\n        ramp.step()\n"
            "        opt.zero_grad()\n",
            "built on the optimizer by an unseen library, stepped without argument and never cleared: a scheduler",
        ),
        Valid(
            "from wrappers import Lookahead\n\n\ndef fit(net, batches, opt, criterion):\n"
            "    slow = Lookahead(opt)\n    for inputs, labels in batches:\n        slow.zero_grad()\n"
            "        criterion(net(inputs), labels).backward()\n        slow.step()\n",
            "built on the optimizer but cleared itself: an optimizer wrapper, stepped instead of the inner one",
        ),
    )

    scenarios = (Scenario("mlp-steplr-stepped-first", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        evidence = Evidence.of(model)
        scheduler_steps = [
            statement for call in model.calls_to_method("step")
            if (statement := model.statement(call)) is not None and evidence.scheduler_step(statement) is not None
        ]

        def steps_optimizer(statement) -> bool:
            return evidence.optimizer_step(statement) is not None

        for block in blocks_around(model, scheduler_steps):
            for index, statement in enumerate(block):
                if evidence.scheduler_step(statement) is None:
                    continue
                if any(contains(s, steps_optimizer) for s in block[:index]):
                    continue
                later = next((j for j in range(index + 1, len(block)) if contains(block[j], steps_optimizer)), None)
                if later is None:
                    continue
                move = plan_move(model, block, [index], later, after=True)
                self.report(
                    statement,
                    f"scheduler.step() before the optimizer step at line {block[later].lineno} skips the schedule's "
                    "first value; step the scheduler after the optimizer",
                    fix=Applicability.SAFE if move else None,
                    data=move,
                )

    def fix(self, finding, tree) -> Fix | None:
        return build_move(finding.data, tree, Effect.REPAIRING) if finding.data else None
