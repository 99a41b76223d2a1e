"""GF505: `w = w - lr * w.grad` under `no_grad`: rebinds the name to a new tensor instead of updating `w`."""
from __future__ import annotations

import ast
import functools
import re

from autofix.lazy import libcst as cst
from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import Kind, SemanticModel, dotted

@functools.cache
def _augmented() -> dict:
    """Binary operator -> its augmented assignment; built when a fix first needs it (LibCST is imported lazily)."""
    return {cst.Subtract: cst.SubtractAssign, cst.Add: cst.AddAssign}
_OPERATORS = {ast.Sub: "-", ast.Add: "+"}
_NOT_TENSORS = frozenset({Kind.OBJECT, Kind.CONTAINER, Kind.MODULE, Kind.OPTIMIZER, Kind.SCHEDULER})
# Code that rebinds on purpose makes the new tensor a leaf again (functional-style training).
_RELEAFS = re.compile(r"\.requires_grad_\(|\.requires_grad\s*=\s*True|\.retain_grad\(")

_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)

model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1)).to(device)
x = torch.randn(64, 8, generator=g).to(device)
y = x.sum(dim=1, keepdim=True)
lr = 0.05
for step in range(10):
    model.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    # Plain SGD by hand.
    with torch.no_grad():
        for p in model.parameters():
            p = p - lr * p.grad
"""


class ReboundInUpdate(Rule):
    """
    ## What it does
    Finds a hand-written update under `torch.no_grad()` that rebinds the name instead of updating the
    tensor: `w = w - lr * w.grad`, `p = p - lr * p.grad` in a loop over `parameters()`,
    `self.w = self.w + step * self.w.grad`.

    ## Why is this bad?
    `w - lr * w.grad` is a new tensor; under `no_grad` it does not even require grad. The name now points
    at it and the original leaf is left as it was. Checked on torch 2.13: in a loop over
    `model.parameters()` the model never changes (silent); a standalone leaf `w` loses its `.grad`
    (`w.grad.zero_()` raises "'NoneType' object has no attribute 'zero_'") and the next backward raises
    "element 0 of tensors does not require grad"; assigning to a module's Parameter attribute raises
    "cannot assign 'torch.FloatTensor' as parameter".

    ## Example
    ```python
    with torch.no_grad():
        for p in model.parameters():
            p = p - lr * p.grad
    ```

    ## Use instead
    ```python
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    ```

    ## Runtime
    Silent in a loop over parameters (nothing trains); otherwise an AttributeError, TypeError or
    RuntimeError one step later, far from the cause.

    ## Fix safety
    Safe and repairing: under `no_grad` (torch's, as the file imports it) the in-place update computes the
    same values into the original tensor, which is what every optimizer does. Reading `.grad` is what
    shows the name holds a tensor; a name the file shows holds something else (a container, a module, an
    object of another library) is left alone. Not reported when the code makes the new tensor a leaf
    again (`requires_grad_()`, `retain_grad()`): that is functional-style training on purpose.
    """

    code = "GF505"
    name = "rebound-in-update"
    message = "`w = w - lr * w.grad` rebinds the name to a new tensor: `w` itself is never updated; update in place"
    runtime = "silent in a loop over parameters; otherwise AttributeError/TypeError/RuntimeError a step later"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"\.grad\b")

    examples = (
        Invalid(
            "import torch\nwith torch.no_grad():\n    for p in model.parameters():\n        p = p - lr * p.grad\n",
            "import torch\nwith torch.no_grad():\n    for p in model.parameters():\n        p -= lr * p.grad\n",
            "a loop over parameters that updates nothing",
        ),
        Invalid(
            "import torch\nwith torch.no_grad():\n    w = w - lr * w.grad\n    b = b - lr * b.grad\nw.grad.zero_()\nb.grad.zero_()\n",
            "import torch\nwith torch.no_grad():\n    w -= lr * w.grad\n    b -= lr * b.grad\nw.grad.zero_()\nb.grad.zero_()\n",
            "standalone leaves",
        ),
        Invalid(
            "import torch\n@torch.no_grad()\ndef sgd(self, lr):\n    self.w = self.w + (-lr) * self.w.grad\n",
            "import torch\n@torch.no_grad()\ndef sgd(self, lr):\n    self.w += (-lr) * self.w.grad\n",
            "a module attribute, in a no_grad function",
        ),
        Valid("import torch\nwith torch.no_grad():\n    for p in model.parameters():\n        p -= lr * p.grad\n", "in place"),
        Valid(
            "import torch\nwith torch.no_grad():\n    w = w - lr * w.grad\nw.requires_grad_()\n",
            "the new tensor is made a leaf again: functional style",
        ),
        Valid("fast = w - lr * w.grad\n", "a new name (MAML's fast weights)"),
        Valid("import torch\nwith torch.no_grad():\n    ema = ema - (1 - decay) * (ema - w)\n", "no gradient involved: an EMA"),
        Valid("w = w - lr * w.grad\n", "not under no_grad: a different problem, not this fix"),
        Invalid(
            "from torch import no_grad\n\n\ndef step(w, lr):\n    with no_grad():\n        w = w - lr * w.grad\n    return w\n",
            "from torch import no_grad\n\n\ndef step(w, lr):\n    with no_grad():\n        w -= lr * w.grad\n    return w\n",
            "no_grad imported by name",
        ),
        Valid(
            "from tape import no_grad\nwith no_grad():\n    w = w - lr * w.grad\n",
            "not torch's no_grad: autograd is on, so this is not the in-place update this rule writes",
        ),
    )

    scenarios = (Scenario("manual-sgd-loop", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        for node in model.nodes(ast.Assign):
            if len(node.targets) != 1 or not isinstance(node.value, ast.BinOp):
                continue
            operation = node.value
            op = _OPERATORS.get(type(operation.op))
            target = dotted(node.targets[0])
            if op is None or target is None or dotted(operation.left) != target:
                continue
            if not _reads_grad_of(operation.right, target) or not model.under_no_grad(node):
                continue
            if model.kind(node.targets[0]) in _NOT_TENSORS:
                continue  # the file shows it is not a tensor (`.grad` is then somebody's own attribute)
            function = model.function(node)
            if _RELEAFS.search(model.source(function) if function is not None else model.text):
                continue
            self.report(
                node,
                f"`{target} = {target} {op} ...` rebinds the name to a new tensor: `{target}` itself is never "
                f"updated; use `{op}=`",
                fix=Applicability.SAFE,
            )

    def fix(self, finding, tree) -> Fix | None:
        node = tree.node_at(finding.range, cst.Assign)
        if node is None or not isinstance(node.value, cst.BinaryOperation):
            return None
        operation = node.value
        augmented = _augmented().get(type(operation.operator))
        if augmented is None:
            return None
        replacement = cst.AugAssign(
            target=node.targets[0].target,
            operator=augmented(
                whitespace_before=operation.operator.whitespace_before,
                whitespace_after=operation.operator.whitespace_after,
            ),
            value=operation.right,
        )
        return Fix((Edit(node, replacement),), Applicability.SAFE, Effect.REPAIRING)


def _reads_grad_of(expr: ast.AST, target: str) -> bool:
    """`expr` (the right operand, a few nodes) reads `<target>.grad`."""
    return any(
        isinstance(node, ast.Attribute) and node.attr == "grad" and dotted(node.value) == target
        for node in ast.walk(expr)
    )
