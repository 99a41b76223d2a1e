"""GF302: in-place write to a leaf tensor created with `requires_grad=True`."""
from __future__ import annotations

import ast
import re

from autofix.rule import Applicability, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import Grad, SemanticModel
from codemods._inplace import autograd_off, inplace_writes, no_grad_fix

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
    Finds an in-place write (`w *= 0.1`, `w.add_(...)`, `w[i] = ...`) to a name that holds a leaf requiring
    grad created in the same scope: a torch factory called with `requires_grad=True`, `.requires_grad_()`, or
    `nn.Parameter(...)`, where autograd is on (not under `torch.no_grad()`, `inference_mode()` or in a custom
    `autograd.Function`). A name rebound since (`w = w * 0.1`) holds a non-leaf and is not reported. Leaves
    that arrive from elsewhere (a function's argument, a loop over `parameters()`) are not reported: their
    callers often run the function under `torch.no_grad()`.

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
            "from torch import randn\n\nw = (randn(5, 3) * 0.1).requires_grad_()\nw.clamp_(-1, 1)\n",
            None,
            "a leaf made with requires_grad_()",
            unsafe_after="from torch import randn\nimport torch\n\nw = (randn(5, 3) * 0.1).requires_grad_()\nwith torch.no_grad():\n"
            "    w.clamp_(-1, 1)\n",
        ),
        Valid("import torch\n\nW = torch.randn(3, requires_grad=True)\nwith torch.no_grad():\n    W *= 0.01\n", "already under no_grad"),
        Valid("import torch\n\nW = torch.randn(3)\nW *= 0.01\nW.requires_grad_()\n", "requires grad only after the write"),
        Valid("import torch\n\nW = torch.randn(3, requires_grad=True)\nW = W * 0.01\n", "out of place (a non-leaf, GF5xx territory)"),
        Valid(
            "import torch\n\n\n@torch.no_grad()\ndef shrink(scale):\n    w = torch.ones(4, requires_grad=True)\n"
            "    w *= scale\n    return w\n",
            "in a function decorated with torch.no_grad()",
        ),
        Valid(
            "import torch\n\n\ndef nudge(params):\n    for p in params:\n        p.add_(0.1)\n",
            "leaves that arrive from a caller: the caller may hold torch.no_grad()",
        ),
    )
    scenarios = (Scenario("linear-regression-scaled-leaf", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        for write in inplace_writes(model, self.context.cache):
            if write.name is None or autograd_off(model, write.statement):
                continue
            if not model.value(write.base).is_tensor or model.value(write.base).grad is not Grad.LEAF:
                continue
            if not _created_here(model, write.base):
                continue
            self.report(write.statement, f"In-place write to `{write.name}`, a leaf that requires grad: raises at once",
                        fix=Applicability.UNSAFE)

    def fix(self, finding, tree) -> Fix | None:
        return no_grad_fix(finding, tree)


def _created_here(model: SemanticModel, name: ast.Name) -> bool:
    """Every binding of `name` that reaches here is an assignment (or an in-place update) in this scope."""
    bindings = model.bindings_reaching(name.id, name)
    return bool(bindings) and all(b.kind in ("assign", "ann", "walrus", "aug") for b in bindings) and all(
        model.scope(b.node) is model.scope(name) and not _initialiser(model, b.value) for b in bindings
    )


def _initialiser(model: SemanticModel, value) -> bool:
    """`nn.init.zeros_(t)` returns `t`, which requires grad only if `t` did (the model assumes a parameter)."""
    return isinstance(value, ast.Call) and (model.qualified_name(value.func) or "").startswith("torch.nn.init.")
