"""GF202: the loss was re-wrapped into a new leaf (`torch.tensor(loss.item(), requires_grad=True)` and kin)."""
from __future__ import annotations

import re

import libcst as cst

import ast

from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from codemods._lossflow import CONNECTED, TRIGGER_TEXT, LossFlowRule, Problem


_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)

model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1)).to(device)
criterion = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(64, 4, generator=g).to(device)
y = x.sum(dim=1, keepdim=True)
for step in range(10):
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss = torch.tensor(loss.item(), requires_grad=True)
    loss.backward()
    optimizer.step()
"""

class RewrappedLoss(LossFlowRule, Rule):
    """
    ## What it does
    Finds a loss copied into a new leaf tensor before `backward()`: `torch.tensor(loss.item(), requires_grad=True)`,
    `torch.tensor(loss, requires_grad=True)`, `Variable(loss.data, requires_grad=True)`,
    `loss.detach().requires_grad_()`. (`torch.as_tensor(loss)` and `torch.Tensor(loss)` keep the graph, and are
    left alone.)

    ## Why is this bad?
    The copy is a fresh leaf with no history: `backward()` runs without error, computes the gradient of the
    copy with respect to itself, and every parameter's `.grad` stays `None`. Nothing trains, silently
    (autograd fact "torch.tensor(loss.item(), requires_grad=True) trains nothing, silently"). The usual origin
    is an earlier "element 0 of tensors does not require grad" error that the re-wrap made go away.

    ## Example
    ```python
    loss = criterion(model(x), y)
    loss = torch.tensor(loss.item(), requires_grad=True)
    loss.backward()
    ```

    ## Use instead
    ```python
    loss = criterion(model(x), y)
    loss.backward()
    ```

    ## Runtime
    Silent: `backward()` succeeds and no parameter receives a gradient.

    ## Fix safety
    Where the re-wrapped tensor still has its graph in the same function (a loss computed from a model
    call), the fix uses that tensor directly (a `loss = loss` left behind is removed). This is safe and
    repairs behaviour: the model starts to train. Where the value was produced by non-differentiable code
    (`.numpy()`, Python arithmetic on `.item()`s, `argmax`, `generate()`), there is no fix: removing the
    wrapper would turn a silent bug into a crash. The loss has to be computed from tensors.
    """

    code = "GF202"
    name = "rewrapped-loss"
    message = "The loss was re-wrapped into a new leaf tensor: backward() trains nothing"
    runtime = "silent: backward() succeeds and every parameter's .grad stays None"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(TRIGGER_TEXT)

    examples = (
        Invalid(
            "import torch\n\ndef step(model, criterion, x, y):\n    loss = criterion(model(x), y)\n"
            "    loss = torch.tensor(loss.item(), requires_grad=True)\n    loss.backward()\n",
            "import torch\n\ndef step(model, criterion, x, y):\n    loss = criterion(model(x), y)\n    loss.backward()\n",
            "the re-wrap goes; the `loss = loss` it would leave is removed",
        ),
        Invalid(
            "import torch as T\n\nout = net(x)\nloss = F_loss(out, y)\nleaf = T.tensor(loss, requires_grad=True)\nleaf.backward()\n",
            "import torch as T\n\nout = net(x)\nloss = F_loss(out, y)\nleaf = loss\nleaf.backward()\n",
            "aliased torch; a differently named copy",
        ),
        Invalid(
            "from torch.autograd import Variable\n\nloss = criterion(model(x), y)\n"
            "loss = Variable(loss.data, requires_grad=True)\nloss.backward()\n",
            "from torch.autograd import Variable\n\nloss = criterion(model(x), y)\nloss.backward()\n",
            "the 0.3-era Variable",
        ),
        Invalid(
            "loss = criterion(model(x), y).detach().requires_grad_()\nloss.backward()\n",
            "loss = criterion(model(x), y)\nloss.backward()\n",
            ".detach().requires_grad_()",
        ),
        Invalid(
            "import torch\n\nl1 = criterion(model(x), y)\ntotal = l1.item() + 0.1 * reg.item()\n"
            "loss = torch.tensor(total, requires_grad=True)\nloss.backward()\n",
            None,
            "built from Python floats: reported without a fix (removing the wrapper would crash)",
        ),
        Valid("import torch\n\nw = torch.tensor([1.0, 2.0], requires_grad=True)\n(w ** 2).sum().backward()\n",
              "a fresh leaf from data is the thing being optimised"),
        Valid("import torch\n\nimg = torch.tensor(pixels, requires_grad=True)\nloss = model(img).sum()\nloss.backward()\n",
              "input optimisation: the model still connects"),
    )

    scenarios = (Scenario("mlp-loss-rewrapped-from-item", _SCENARIO),)

    def problem(self, problem: Problem) -> None:
        cut = problem.cut
        if cut.kind != "rewrap":
            return
        where = f"backward() at line {problem.backward.lineno}"
        if cut.inner.state != CONNECTED or not cut.computed_here or problem.patches:
            self.report(
                cut.node,
                f"Re-wrapping into a new leaf cuts the loss given to {where} from the graph, and the value was "
                "computed without one: compute the loss from tensors",
            )
            return
        self.report(
            cut.node,
            f"Re-wrapping into a new leaf cuts the loss given to {where}: use the loss itself",
            Applicability.SAFE,
            data=(self.model.range(cut.inner_expr), _is_self_assignment(cut.statement, cut.node, cut.inner_expr)),
        )

    def fix(self, finding, tree) -> Fix | None:
        underlying_range, drop_statement = finding.data
        node = tree.node_at(finding.range, cst.Call)
        underlying = tree.node_at(underlying_range, cst.BaseExpression)
        if node is None or underlying is None:
            return None
        if drop_statement:
            assign = tree.parent(node)
            line = tree.parent(assign) if isinstance(assign, cst.Assign) else None
            if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 and _has_siblings(tree, line):
                return Fix((Edit(line, cst.RemovalSentinel.REMOVE),), Applicability.SAFE, Effect.REPAIRING)
        return Fix((Edit(node, underlying),), Applicability.SAFE, Effect.REPAIRING)


def _is_self_assignment(statement, node, replacement) -> bool:
    """`loss = torch.tensor(loss.item(), ...)`: after the fix it would read `loss = loss`."""
    return (
        isinstance(statement, ast.Assign)
        and statement.value is node
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
        and isinstance(replacement, ast.Name)
        and statement.targets[0].id == replacement.id
    )


def _has_siblings(tree, line) -> bool:
    """Removing `line` leaves its block non-empty."""
    block = tree.parent(line)
    body = getattr(block, "body", ())
    return isinstance(body, (list, tuple)) and len(body) > 1
