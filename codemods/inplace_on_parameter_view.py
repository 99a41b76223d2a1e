"""GF304: in-place write to a view of a parameter (`self.weight[:, i] -= delta`) where autograd is on."""
from __future__ import annotations

import ast

from autofix.rule import AllOf, Applicability, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import Grad, Kind, SemanticModel
from codemods._inplace import autograd_off, inplace_writes, no_grad_fix

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
    `emb.weight[idx].zero_()`, where autograd is on. Only what the semantic model knows is a trainable
    `nn.Parameter` counts: `self.w` assigned `nn.Parameter(...)` in the class, the `weight`/`bias` of a known
    `nn` layer (`self.fc = nn.Linear(...)`, an argument annotated `nn.Embedding`), a loop variable over
    `.parameters()`. A dict or `ParameterDict` item assignment (`self.weights[key] = w`) replaces an entry and
    writes no tensor; a tensor the method itself just made (`self.w = torch.full(...)`) is no parameter.

    ## Why is this bad?
    The index makes a view of a leaf that requires grad, and autograd forbids writing to it: the line raises
    "a view of a leaf Variable that requires grad is being used in an in-place operation" (checked on torch
    2.13; the same write under `torch.no_grad()` or `inference_mode()` is allowed).

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
    are GF101's; writes to a leaf the same function created are GF302's.
    """

    code = "GF304"
    name = "inplace-on-parameter-view"
    message = "In-place write to a view of a parameter: raises at once"
    runtime = 'raises at once: "a view of a leaf Variable that requires grad is being used in an in-place operation"'
    fix_applicability = Applicability.UNSAFE
    fix_effect = Effect.REPAIRING
    # An indexed write (`[...] =`, `[...] op=`, `[...].method_(`) and what the model needs to know a parameter:
    # `nn.Parameter`, `.parameters()`, or an `nn` layer (`nn.Linear`, `from torch.nn import Linear`).
    prefilter = AllOf(r"\]\s*(?:[-+*/%@&|^<>]{0,2}=[^=]|\.\w+_\()", r"Parameter|parameters\(|\bnn\b")

    examples = (
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass Codebook(nn.Module):\n    def __init__(self, n, dim):\n"
            "        super().__init__()\n        self.weight = nn.Parameter(torch.randn(dim, n))\n\n"
            "    def nudge(self, i, delta):\n        self.weight[:, i] -= delta\n",
            None,
            "an augmented write to a column",
            unsafe_after="import torch\nimport torch.nn as nn\n\n\nclass Codebook(nn.Module):\n    def __init__(self, n, dim):\n"
            "        super().__init__()\n        self.weight = nn.Parameter(torch.randn(dim, n))\n\n"
            "    def nudge(self, i, delta):\n        with torch.no_grad():\n            self.weight[:, i] -= delta\n",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\ndef reset_pad(emb: nn.Embedding, pad):\n    emb.weight[pad].zero_()\n",
            None,
            "an in-place method on a row",
            unsafe_after="import torch\nimport torch.nn as nn\n\ndef reset_pad(emb: nn.Embedding, pad):\n"
            "    with torch.no_grad():\n        emb.weight[pad].zero_()\n",
        ),
        Valid("import torch\n\nwith torch.no_grad():\n    layer.weight[0] = 1.0\n", "already under no_grad"),
        Valid("x = weights[0]\nfeatures[0] = 1.0\n", "not a parameter attribute"),
        Valid("import torch.nn as nn\n\ndef reset_pad(emb, pad):\n    emb.weight[pad].zero_()\n",
              "`emb` is an argument of unknown type: its `weight` may be any tensor"),
        Valid(
            "import torch\nfrom typing import Dict, Optional\n\n\nclass RelationStore:\n    def __init__(self, weights, order):\n"
            "        self.weight: Optional[Dict[str, torch.Tensor]] = None\n        if weights is not None:\n"
            "            self.weight = dict(weights)\n            for name, w in self.weight.items():\n"
            "                self.weight[name] = w[order[name]]\n",
            "an item assignment into a dict of tensors replaces an entry: no tensor is written",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass PerRelation(nn.Module):\n    def __init__(self, names, dim):\n"
            "        super().__init__()\n        self.scale = nn.ParameterDict()\n        for name in names:\n"
            "            self.scale[name] = nn.Parameter(torch.ones(dim))\n",
            "registering into an nn.ParameterDict is not a tensor write",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass Attack(nn.Module):\n    def __init__(self, n):\n"
            "        super().__init__()\n        self.weight = nn.Parameter(torch.zeros(n))\n\n"
            "    def grow(self, size, keep, old):\n        self.weight = torch.full((size,), 1e-3)\n"
            "        self.weight[keep] = old\n        self.weight.requires_grad_()\n",
            "the method rebinds the attribute to a fresh tensor first: that is what it writes to",
        ),
    )
    scenarios = (Scenario("linear-probe-silenced-column", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        for write in inplace_writes(model, self.context.cache):
            if write.kind != "subscript" or autograd_off(model, write.statement):
                continue
            value = _current_value(model, write.base, write.statement)
            if value is None or value.kind is not Kind.PARAMETER or value.grad not in (Grad.LEAF, Grad.UNKNOWN):
                continue
            self.report(write.statement, f"In-place write to a view of `{model.source(write.base)}`, a parameter: "
                        "raises at once", fix=Applicability.UNSAFE)

    def fix(self, finding, tree) -> Fix | None:
        return no_grad_fix(finding, tree)


def _current_value(model: SemanticModel, base: ast.expr, statement: ast.stmt):
    """What `base` holds at `statement`. For `self.x`, an assignment to it earlier in the same method that runs on
    every path to the write wins over the class-wide join; a name that the function creates as a leaf is GF302's."""
    if isinstance(base, ast.Name):
        bindings = model.bindings_reaching(base.id, base) or ()
        if bindings and all(b.kind in ("assign", "ann", "walrus", "aug") for b in bindings):
            return None  # a local leaf: GF302 reports it
        return model.value(base)
    if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name):
        latest = _dominating_self_assignment(model, base, statement)
        if latest is not None:
            return model.value(latest)
    return model.value(base)


def _dominating_self_assignment(model: SemanticModel, base: ast.Attribute, statement: ast.stmt):
    """The value of the last `self.x = value` before `statement` in the same block or a block around it."""
    function = model.function(statement)
    if function is None:
        return None
    found = None
    for assign in model.nodes(ast.Assign):
        if assign.lineno >= statement.lineno or model.function(assign) is not function:
            continue
        if not _same_or_enclosing_block(model, assign, statement):
            continue  # inside a branch or loop that may not run
        for target in assign.targets:
            if isinstance(target, ast.Attribute) and target.attr == base.attr and isinstance(target.value, ast.Name) \
                    and target.value.id == base.value.id:
                found = assign.value
    return found


def _same_or_enclosing_block(model: SemanticModel, earlier: ast.stmt, later: ast.stmt) -> bool:
    """`earlier` sits in the statement list that holds `later`, or one that holds a statement around it."""
    container = model.parent(earlier)
    field = _field(container, earlier)
    current = later
    while current is not None and model.parent(current) is not container:
        current = model.parent(current)
    return current is not None and field is not None and _field(container, current) == field


def _field(container: ast.AST, child: ast.AST) -> str | None:
    for name, value in ast.iter_fields(container):
        if isinstance(value, list) and any(v is child for v in value):
            return name
    return None
