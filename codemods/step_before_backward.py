"""GF401: an optimizer step (or hand-written update) before the backward() of the same iteration."""
from __future__ import annotations

import re

import libcst as cst

from autofix.rule import Applicability, Effect, Invalid, Rule, Scenario, Valid
from codemods._steps import (
    BlockRule, any_backward, backward_kind, clips_or_unscales, manual_update, move_fix, optimizer_step,
)


_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)


class ResidualBlock(nn.Module):
    def __init__(self, dim=16):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 32)
        self.fc2 = nn.Linear(32, dim)

    def forward(self, x):
        return x + self.fc2(F.gelu(self.fc1(self.norm(x))))


model = nn.Sequential(nn.Linear(8, 16), ResidualBlock(), nn.Linear(16, 1)).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(64, 8, generator=g).to(device)
y = x.sum(dim=1, keepdim=True)
for step in range(10):
    loss = F.mse_loss(model(x), y)
    optimizer.step()
    loss.backward()
    optimizer.zero_grad(set_to_none=False)
"""

class StepBeforeBackward(BlockRule, Rule):
    """
    ## What it does
    Finds `optimizer.step()` (also `scaler.step(optimizer)` and hand-written updates such as
    `with torch.no_grad(): p -= lr * p.grad`) placed before the `backward()` of the same block.

    ## Why is this bad?
    - Between the forward pass and `backward()`, an update that writes to parameters autograd saved makes
      `backward()` raise "one of the variables needed for gradient computation has been modified by an
      inplace operation" in any model deeper than one linear layer; with a single `nn.Linear` it silently
      computes gradients for the parameters as they were before the update (autograd fact "a parameter
      update between forward and backward raises in a deeper model"). A `.data` update raises nothing
      and the loss stays flat. When the gradients were cleared to `None` just before (the default of
      `zero_grad()`), `optimizer.step()` skips every parameter: no error, and nothing ever trains.
    - Before the forward pass, `step()` applies the previous iteration's gradients: training lags one
      step, the first step applies none, and if the gradients are cleared after `backward()` nothing
      ever trains.

    ## Example
    ```python
    loss = criterion(model(x), y)
    optimizer.step()
    loss.backward()
    ```

    ## Use instead
    ```python
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    ```

    ## Runtime
    Raises "modified by an inplace operation" at `backward()` (deeper models, when the step writes), or
    silently trains nothing or lags one step.

    ## Fix safety
    Safe: the update moves to just after `backward()` and after any gradient clipping or unscaling
    that follows it. The rule checks that the moved statements neither read nor write a name the statements
    they cross write. Otherwise it reports without a fix. The fix repairs behaviour.
    Gradient accumulation (`if (i + 1) % k == 0: optimizer.step()` after `backward()`), EMA and
    weight clipping after `step()`, and second-order code (`create_graph=True`) are not reported.
    """

    code = "GF401"
    name = "step-before-backward"
    message = "Parameter update before backward(): move it after backward()"
    runtime = 'raises "modified by an inplace operation" at backward() (deeper models), or silently trains nothing or lags'
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"backward\(")

    examples = (
        Invalid(
            "for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n"
            "    optimizer.step()  # update\n    loss.backward()\n",
            "for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n"
            "    loss.backward()\n    optimizer.step()  # update\n",
            "step between the forward pass and backward(); its comment moves with it",
        ),
        Invalid(
            "for x, y in loader:\n    optimizer.step()\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n"
            "    loss.backward()\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n",
            "for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n"
            "    loss.backward()\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    optimizer.step()\n",
            "step at the top of the iteration: it goes after backward() and the clipping",
        ),
        Invalid(
            "import torch\n\nfor x, y in loader:\n    loss = ((model(x) - y) ** 2).mean()\n    with torch.no_grad():\n"
            "        for p in model.parameters():\n            p -= 0.01 * p.grad\n    loss.backward()\n",
            "import torch\n\nfor x, y in loader:\n    loss = ((model(x) - y) ** 2).mean()\n    loss.backward()\n"
            "    with torch.no_grad():\n        for p in model.parameters():\n            p -= 0.01 * p.grad\n",
            "a hand-written SGD update before backward()",
        ),
        Invalid(
            "for x, y in loader:\n    opt.step()\n    opt = make_optimizer()\n    loss = criterion(model(x), y)\n"
            "    loss.backward()\n",
            None,
            "the crossed statements rebind the optimizer: reported without a fix",
        ),
        Valid(
            "for i, (x, y) in enumerate(loader):\n    loss = criterion(model(x), y) / accum\n    loss.backward()\n"
            "    if (i + 1) % accum == 0:\n        optimizer.step()\n        optimizer.zero_grad()\n",
            "gradient accumulation",
        ),
        Valid(
            "for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n"
            "    optimizer.step()\n    ema.update(model)\n    for p in critic.parameters():\n        p.data.clamp_(-0.01, 0.01)\n",
            "EMA and WGAN weight clipping after step()",
        ),
        Valid(
            "for x, y in loader:\n    d_loss = bce(D(G(z).detach()), zeros)\n    opt_d.zero_grad()\n    d_loss.backward()\n"
            "    opt_d.step()\n    g_loss = bce(D(G(z)), ones)\n    opt_g.zero_grad()\n    g_loss.backward()\n    opt_g.step()\n",
            "a GAN: the D step before the G backward belongs to the D backward",
        ),
        Valid(
            "grads = torch.autograd.grad(loss, params, create_graph=True)\nopt.step()\nloss2.backward(create_graph=True)\n",
            "second-order code",
        ),
        Valid("architect.step(x_train, y_train, x_val, y_val, lr, optimizer)\nloss = crit(model(x), y)\nloss.backward()\n",
              "DARTS-style architecture step: not an optimizer"),
    )

    scenarios = (Scenario("residual-mlp-step-between-forward-and-backward", _SCENARIO),)

    def check_block(self, block) -> None:
        kinds = [backward_kind(s) for s in block]
        if "higher-order" in kinds:
            return
        first = next((i for i, kind in enumerate(kinds) if kind), None)
        if first is None or any_backward(block[:first]):
            return
        updates = [i for i in range(first) if optimizer_step(block[i], self.bindings) or manual_update(block[i])]
        if not updates:
            return
        after = first
        while after + 1 < len(block) and clips_or_unscales(block[after + 1]):
            after += 1
        fix = move_fix(block, updates, after_index=after, before_index=None, effect=Effect.REPAIRING)
        backward_line = self.position(block[first]).start.line
        for index in updates:
            forward_first = any(_assigns(s) for s in block[:index])
            message = (
                f"Parameter update between the forward pass and backward() at line {backward_line}: backward() "
                "raises, or the update is lost; move it after backward()"
                if forward_first
                else f"Parameter update before backward() at line {backward_line} applies the previous step's "
                "gradients; move it after backward()"
            )
            self.report(block[index], message, fix)


def _assigns(statement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(s, (cst.Assign, cst.AugAssign, cst.AnnAssign)) for s in statement.body
    )
