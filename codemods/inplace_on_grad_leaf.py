"""GF302: in-place write to a leaf tensor created with `requires_grad=True`."""
from __future__ import annotations

import re

import libcst as cst

from autofix.rule import Applicability, Effect, Invalid, Rule, Scenario, Valid
from codemods._inplace import binds, no_grad_fix, statements_in_order, writes_in
from codemods._torch import LEAF_MAKERS, Imports, requests_grad, scope_chain, under_no_grad




_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)

x = torch.randn(64, 8, generator=g).to(device)
y = x.sum(dim=1, keepdim=True)
W = torch.randn(8, 1, generator=g).to(device).requires_grad_()
b = torch.zeros(1, device=device, requires_grad=True)
W *= 0.1
optimizer = torch.optim.SGD([W, b], lr=0.05)
for step in range(10):
    optimizer.zero_grad()
    loss = F.mse_loss(x @ W + b, y)
    loss.backward()
    optimizer.step()
"""

class InplaceOnGradLeaf(Rule):
    """
    ## What it does
    Finds an in-place write (`w *= 0.1`, `w.add_(...)`, `w[i] = ...`) to a tensor created in the same scope
    with `requires_grad=True` (or as `nn.Parameter(...)`), outside `torch.no_grad()`.

    ## Why is this bad?
    Autograd forbids it: the write raises at once, "a leaf Variable that requires grad is being used in an
    in-place operation" (autograd fact "in-place op on a leaf that requires grad raises"). It usually
    appears as a scaled initialisation (`w = torch.randn(n, m, requires_grad=True); w *= 0.01`) or as a
    hand-written update.

    ## Example
    ```python
    W = torch.randn(784, 10, requires_grad=True)
    W *= 0.01
    ```

    ## Use instead
    ```python
    W = torch.randn(784, 10, requires_grad=True)
    with torch.no_grad():
        W *= 0.01
    ```
    Often the real fix is that `W` should not require grad until after the write:
    `W = (torch.randn(784, 10) * 0.01).requires_grad_()`.

    ## Runtime
    Raises at once: "a leaf Variable that requires grad is being used in an in-place operation".

    ## Fix safety
    Unsafe: the fix puts the write under `torch.no_grad()`, which keeps `W` a leaf and is what such code
    usually means. If the write was meant to be part of the graph, the right fix is an out-of-place
    computation on a non-leaf, which only the author can choose.
    """

    code = "GF302"
    name = "inplace-on-grad-leaf"
    message = "In-place write to a leaf that requires grad: raises at once"
    runtime = 'raises at once: "a leaf Variable that requires grad is being used in an in-place operation"'
    fix_applicability = Applicability.UNSAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"requires_grad|Parameter\(")

    examples = (
        Invalid(
            "import torch\n\nW = torch.randn(784, 10, requires_grad=True)\nW *= 0.01\n",
            None,
            "a scaled initialisation",
            unsafe_after="import torch\n\nW = torch.randn(784, 10, requires_grad=True)\nwith torch.no_grad():\n    W *= 0.01\n",
        ),
        Invalid(
            "import torch as T\n\ndef make():\n    b = T.zeros(10, requires_grad=True)\n    b[0] = 1.0\n    return b\n",
            None,
            "an indexed write; the file's alias for torch",
            unsafe_after="import torch as T\n\ndef make():\n    b = T.zeros(10, requires_grad=True)\n    with T.no_grad():\n"
            "        b[0] = 1.0\n    return b\n",
        ),
        Invalid(
            "w = (torch.randn(5, 3) * 0.1).requires_grad_()\nw.clamp_(-1, 1)\n",
            None,
            "a leaf made with requires_grad_()",
            unsafe_after="import torch\nw = (torch.randn(5, 3) * 0.1).requires_grad_()\nwith torch.no_grad():\n    w.clamp_(-1, 1)\n",
        ),
        Valid("import torch\n\nW = torch.randn(3, requires_grad=True)\nwith torch.no_grad():\n    W *= 0.01\n", "already under no_grad"),
        Valid("import torch\n\nW = torch.randn(3)\nW *= 0.01\nW.requires_grad_()\n", "requires grad only after the write"),
        Valid("import torch\n\nW = torch.randn(3, requires_grad=True)\nW = W * 0.01\n", "out of place (a non-leaf, GF5xx territory)"),
    )
    scenarios = (Scenario("linear-regression-scaled-leaf", _SCENARIO),)

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._check(node.body)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if isinstance(node.body, cst.IndentedBlock):
            self._check(node.body.body)

    def _check(self, body) -> None:
        leaves: set[str] = set()
        for statement in statements_in_order(body):
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    write = writes_in(small)
                    if write and write.name in leaves and not under_no_grad(statement, self.parent):
                        fix = no_grad_fix(statement, self._module, self.parent, self.context.cache)
                        self.report(statement, f"In-place write to `{write.name}`, a leaf that requires grad: "
                                    "raises at once", fix)
                        leaves.discard(write.name)
                created = self._creates_leaf(statement)
                leaves -= binds(statement)
                if created:
                    leaves.add(created)
            else:
                leaves -= binds(statement)

    def _creates_leaf(self, statement) -> str | None:
        if len(statement.body) != 1 or not isinstance(statement.body[0], cst.Assign):
            return None
        assign = statement.body[0]
        if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
            return None
        call = assign.value
        if not isinstance(call, cst.Call):
            return None
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "requires_grad_" and (
            not call.args or (isinstance(call.args[0].value, cst.Name) and call.args[0].value.value == "True")
        ):
            return assign.targets[0].target.value  # `w = torch.randn(n).requires_grad_()`
        qualified = Imports.of(self._module, self.context.cache).resolve(call.func, scope_chain(call, self.parent)) or ""
        if not LEAF_MAKERS.match(qualified):
            return None
        wants_grad = qualified.endswith("Parameter") or requests_grad(call)
        return assign.targets[0].target.value if wants_grad else None
