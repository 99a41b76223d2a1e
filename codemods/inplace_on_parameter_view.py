"""GF304: in-place write to a view of a parameter (`self.weight[:, i] -= delta`) outside `torch.no_grad()`."""
from __future__ import annotations

import re

import libcst as cst

from autofix.rule import Applicability, Effect, Invalid, Rule, Scenario, Valid
from codemods._inplace import no_grad_fix
from codemods._torch import looks_like_parameter, under_no_grad



_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)


class Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 1)

    def silence_feature(self, i):
        self.fc.weight[:, i] = 0.0


model = Probe().to(device)
model.silence_feature(0)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(64, 8, generator=g).to(device)
y = x[:, 1:].sum(dim=1, keepdim=True)
for step in range(10):
    optimizer.zero_grad()
    loss = F.mse_loss(model.fc(x), y)
    loss.backward()
    optimizer.step()
"""

class InplaceOnParameterView(Rule):
    """
    ## What it does
    Finds an indexed in-place write to a parameter, `self.weight[:, i] -= delta`, `layer.bias[0] = 0.0` or
    `m.weight[idx].zero_()`, outside `torch.no_grad()`.

    ## Why is this bad?
    The index makes a view of a leaf that requires grad, and autograd forbids writing to it: the line raises
    "a view of a leaf Variable that requires grad is being used in an in-place operation" (checked on torch
    2.13).

    ## Example
    ```python
    self.weight[:, i] -= delta
    ```

    ## Use instead
    ```python
    with torch.no_grad():
        self.weight[:, i] -= delta
    ```

    ## Runtime
    Raises at once: "a view of a leaf Variable that requires grad is being used in an in-place operation".

    ## Fix safety
    Unsafe: the fix puts the write under `torch.no_grad()`, which is what a manual edit of weights means.
    If the write was meant to be differentiable, the author has to restructure it. Writes through `.data`
    are GF101's.
    """

    code = "GF304"
    name = "inplace-on-parameter-view"
    message = "In-place write to a view of a parameter: raises at once"
    runtime = 'raises at once: "a view of a leaf Variable that requires grad is being used in an in-place operation"'
    fix_applicability = Applicability.UNSAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"(weight|bias|param)\w*\s*\[[^\]]*\]\s*(?:[-+*/]?=[^=]|\.\w+_\()")

    examples = (
        Invalid(
            "import torch\n\nclass Codebook:\n    def nudge(self, i, delta):\n        self.weight[:, i] -= delta\n",
            None,
            "an augmented write to a column",
            unsafe_after="import torch\n\nclass Codebook:\n    def nudge(self, i, delta):\n        with torch.no_grad():\n"
            "            self.weight[:, i] -= delta\n",
        ),
        Invalid(
            "import torch\n\ndef reset_pad(emb, pad):\n    emb.weight[pad].zero_()\n",
            None,
            "an in-place method on a row",
            unsafe_after="import torch\n\ndef reset_pad(emb, pad):\n    with torch.no_grad():\n        emb.weight[pad].zero_()\n",
        ),
        Valid("import torch\n\nwith torch.no_grad():\n    layer.weight[0] = 1.0\n", "already under no_grad"),
        Valid("x = weights[0]\nfeatures[0] = 1.0\n", "not a parameter attribute"),
    )
    scenarios = (Scenario("linear-probe-silenced-column", _SCENARIO),)

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        if len(node.body) != 1 or not self._writes_parameter_view(node.body[0], node):
            return
        if under_no_grad(node, self.parent):
            return
        self.report(node, fix=no_grad_fix(node, self._module, self.parent, self.context.cache))

    def _writes_parameter_view(self, small, anchor) -> bool:
        target = None
        if isinstance(small, cst.AugAssign):
            target = small.target
        elif isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and isinstance(small.value.func, cst.Attribute):
            method = small.value.func.attr.value
            if method.endswith("_") and method not in ("requires_grad_", "retain_grad"):
                target = small.value.func.value
        if not isinstance(target, cst.Subscript):
            return False
        base = target.value
        while isinstance(base, cst.Subscript):
            base = base.value
        return isinstance(base, cst.Attribute) and looks_like_parameter(base, anchor, self.parent)
