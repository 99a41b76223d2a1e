"""GF204: the loss given to backward() was computed under `torch.no_grad()` / `inference_mode()`."""
from __future__ import annotations

import ast

from autofix.lazy import libcst as cst
from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from codemods._lossflow import LossFlowRule, Problem, prefilter_with


_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(64, 8, generator=g).to(device)
y = x[:, :1] * 2.0
for step in range(10):
    optimizer.zero_grad()
    with torch.no_grad():
        out = model(x)
        loss = F.mse_loss(out, y)
    loss.backward()
    optimizer.step()
"""

class LossUnderNoGrad(LossFlowRule, Rule):
    """
    ## What it does
    Finds a forward pass or loss computed inside `with torch.no_grad():`, `with torch.inference_mode():`
    (or a function decorated with them) whose result is then given to `backward()`.

    ## Why is this bad?
    Nothing computed with gradients off has a graph, so `backward()` raises "element 0 of tensors does not
    require grad and does not have a grad_fn". Wrapping the forward pass in `no_grad` is right for
    validation and for teachers and targets, and wrong for the loss being trained on.

    ## Example
    ```python
    with torch.no_grad():
        out = model(x)
        loss = criterion(out, y)
    loss.backward()
    ```

    ## Use instead
    ```python
    out = model(x)
    loss = criterion(out, y)
    loss.backward()
    ```

    ## Runtime
    Raises at `backward()`: "element 0 of tensors does not require grad and does not have a grad_fn".

    ## Fix safety
    Unsafe: the fix moves the block's statements out of the `with` (only when the block holds nothing
    but simple statements). Everything in the block then builds a graph, which costs memory, and
    part of the block may have been meant to stay gradient-free. A decorated function is reported without
    a fix.
    """

    code = "GF204"
    name = "loss-under-no-grad"
    message = "The loss given to backward() is computed with gradients off"
    runtime = 'raises at backward(): "element 0 of tensors does not require grad and does not have a grad_fn"'
    fix_applicability = Applicability.UNSAFE
    fix_effect = Effect.REPAIRING
    prefilter = prefilter_with("no_grad|inference_mode|set_grad_enabled")

    examples = (
        Invalid(
            "import torch\n\nfor x, y in loader:\n    with torch.no_grad():\n        out = model(x)\n"
            "        loss = criterion(out, y)\n    loss.backward()\n",
            None,
            "the forward pass and the loss under no_grad",
            unsafe_after="import torch\n\nfor x, y in loader:\n    out = model(x)\n    loss = criterion(out, y)\n"
            "    loss.backward()\n",
        ),
        Invalid(
            "import torch\n\n@torch.no_grad()\ndef train_step(model, opt, x, y):\n    loss = criterion(model(x), y)\n"
            "    loss.backward()\n    opt.step()\n",
            None,
            "a decorated training step: reported without a fix",
        ),
        Valid(
            "import torch\n\ndef evaluate(model, loader):\n    with torch.no_grad():\n        for x, y in loader:\n"
            "            loss = criterion(model(x), y)\n",
            "validation: no backward()",
        ),
        Valid(
            "import torch\n\nwith torch.no_grad():\n    t = teacher(x)\nloss = kd(student(x), t)\nloss.backward()\n",
            "a teacher under no_grad; the student connects",
        ),
        Valid(
            "import torch\n\n@torch.no_grad()\ndef sample(energy, x, steps):\n    for _ in range(steps):\n"
            "        with torch.enable_grad():\n            x = x.detach().requires_grad_()\n"
            "            (g,) = torch.autograd.grad(energy(x).sum(), x)\n        x = x - 0.1 * g\n    return x\n",
            "enable_grad inside a no_grad sampler: the gradient is taken with autograd on",
        ),
        Valid(
            "import torch\nimport torch.nn.functional as F\n\n\ndef update(critic, critic_target, actor, batch, opt, gamma):\n"
            "    state, action, reward, next_state, done = batch\n    with torch.no_grad():\n"
            "        next_action = actor(next_state)\n        target_q = critic_target(next_state, next_action)\n"
            "        target_q = reward + gamma * (1 - done) * target_q\n    current_q = critic(state, action)\n"
            "    loss = F.mse_loss(current_q, target_q)\n    opt.zero_grad()\n    loss.backward()\n    opt.step()\n",
            "an actor-critic update: the TD target is made under no_grad, the critic's output (unknown, not off) "
            "outside it; their join is unknown, never off",
        ),
    )

    scenarios = (Scenario("mlp-forward-under-no-grad", _SCENARIO),)

    def problem(self, problem: Problem) -> None:
        cut = problem.cut
        if cut.kind != "no_grad" or problem.returned:
            return
        where = f"backward() at line {problem.backward.lineno}"
        block = cut.node
        if not isinstance(block, (ast.With, ast.AsyncWith)):
            self.report(block, f"The loss given to {where} is computed in a function run with gradients off")
            return
        fix = Applicability.UNSAFE if _movable(block) else None
        self.report(block, f"The loss given to {where} is computed with gradients off in this block", fix)

    def fix(self, finding, tree) -> Fix | None:
        block = tree.node_at(finding.range, cst.With)
        if block is None or not isinstance(block.body, cst.IndentedBlock):
            return None
        body = list(block.body.body)
        body[0] = body[0].with_changes(leading_lines=[*block.leading_lines, *body[0].leading_lines])
        return Fix((Edit(block, cst.FlattenSentinel(body)),), Applicability.UNSAFE, Effect.REPAIRING)


def _movable(block: ast.With) -> bool:
    """A block of plain statements, with one context manager: lifting them out is straightforward."""
    return (
        isinstance(block, ast.With)
        and len(block.items) == 1
        and block.items[0].optional_vars is None
        and not any(isinstance(s, _COMPOUND) for s in block.body)
    )


_COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.FunctionDef,
             ast.AsyncFunctionDef, ast.ClassDef, ast.Match, getattr(ast, "TryStar", ast.Try))
