"""GF501: `p.require_grad = False`, a misspelt `requires_grad` that freezes nothing."""
from __future__ import annotations

import ast
import re

from autofix.lazy import libcst as cst
from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import SemanticModel

TYPOS = frozenset({"require_grad", "requires_grads", "require_grads", "requieres_grad", "requires_gradient"})

_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
        self.head = nn.Linear(32, 4)

    def forward(self, x):
        return self.head(self.backbone(x))


model = Classifier().to(device)
# Linear probing: freeze everything, then unfreeze the head.
model.requires_grad_(False)
for p in model.head.parameters():
    p.require_grad = True
optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
x = torch.randn(64, 16, generator=g).to(device)
y = torch.randint(0, 4, (64,), generator=g).to(device)
for step in range(10):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
"""


class RequireGradTypo(Rule):
    """
    ## What it does
    Finds assignments to a misspelt `requires_grad` on a tensor or parameter: `p.require_grad = False`,
    `w.requires_grads = True`, `param.require_grads = False`.

    ## Why is this bad?
    Tensors accept arbitrary Python attributes, so the assignment succeeds and sets an attribute nobody
    reads; `requires_grad` itself is unchanged (autograd fact "the require_grad typo sets a plain
    attribute"). Freezing a backbone this way trains it anyway; unfreezing a head this way leaves it
    frozen, and the optimizer then gets an empty list or the loss has no graph.

    ## Example
    ```python
    for p in model.backbone.parameters():
        p.require_grad = False
    ```

    ## Use instead
    ```python
    for p in model.backbone.parameters():
        p.requires_grad = False
    ```

    ## Runtime
    Silent at the assignment. What follows depends on the intent: a freeze that trains everything anyway
    (silent), or an unfreeze that leaves nothing trainable ("optimizer got an empty parameter list", or
    "element 0 of tensors does not require grad" at backward).

    ## Fix safety
    Safe and repairing: the spelling is certainly wrong, but fixing it changes what trains (that is the
    point). Code that has trained for months with a frozen-in-name-only backbone will train differently,
    so review the result. Only objects the semantic model knows are tensors are reported: results of torch
    factories and tensor operations, `nn.Parameter`s, parameters of known `nn` layers, loop variables over
    `parameters()`, arguments annotated `Tensor`. Not when the file reads the misspelt attribute back (then it
    is somebody's own attribute).
    """

    code = "GF501"
    name = "require-grad-typo"
    message = "misspelt `requires_grad`: this sets a plain attribute and (un)freezes nothing"
    runtime = "silent: the tensor's requires_grad is unchanged"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"\.(" + "|".join(sorted(TYPOS)) + r")\b")

    examples = (
        Invalid(
            "for p in model.backbone.parameters():\n    p.require_grad = False\n",
            "for p in model.backbone.parameters():\n    p.requires_grad = False\n",
            "freezing a backbone",
        ),
        Invalid(
            "for name, param in model.named_parameters():\n    if 'head' in name:\n        param.requires_grads = True\n",
            "for name, param in model.named_parameters():\n    if 'head' in name:\n        param.requires_grad = True\n",
            "unfreezing by name",
        ),
        Invalid(
            "import torch.nn as nn\n\nfc = nn.Linear(4, 2)\nfc.weight.require_grad = False\n",
            "import torch.nn as nn\n\nfc = nn.Linear(4, 2)\nfc.weight.requires_grad = False\n",
            "the weight of a known layer",
        ),
        Valid("self.require_grad = require_grad\n", "a module's own option, not a tensor"),
        Valid(
            "for p in model.parameters():\n    p.require_grad = False\nif p.require_grad:\n    pass\n",
            "the file reads the attribute back: somebody's own attribute",
        ),
        Valid("for p in model.parameters():\n    p.requires_grad = False\n", "spelt right"),
        Valid("config.require_grad = True\n", "not a tensor"),
        Invalid(
            "import torch\n\nx = torch.zeros(1)\nx.require_grad = True\n",
            "import torch\n\nx = torch.zeros(1)\nx.requires_grad = True\n",
            "a tensor from a torch factory, whatever its name",
        ),
        Valid("model.fc.weight.require_grad = False\n", "`model` is not bound in this file: what it holds is unknown"),
        Valid(
            "from torch_geometric.data import Data\n\ndef f(data: Data):\n    data.require_grad = True\n",
            "a PyG Data object, as its annotation says: not a tensor",
        ),
    )

    scenarios = (Scenario("linear-probe-unfreeze", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        # A misspelt name the file also reads (`if x.require_grad:`) is somebody's own attribute.
        read_back = {
            node.attr for node in model.nodes(ast.Attribute) if node.attr in TYPOS and isinstance(node.ctx, ast.Load)
        }
        for target in model.nodes(ast.Attribute):
            if target.attr not in TYPOS or not isinstance(target.ctx, ast.Store) or target.attr in read_back:
                continue
            if not model.is_tensor(target.value):
                continue  # a config object, a module's own option, or something the file does not show
            self.report(
                target,
                f"`{target.attr}` is not `requires_grad`: this sets a plain attribute and (un)freezes nothing",
                fix=Applicability.SAFE,
            )

    def fix(self, finding, tree) -> Fix | None:
        node = tree.node_at(finding.range, cst.Attribute)
        if node is None:
            return None
        return Fix((Edit(node.attr, cst.Name("requires_grad")),), Applicability.SAFE, Effect.REPAIRING)
