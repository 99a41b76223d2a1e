"""GF609: a tensor created with `requires_grad=True` and kept as a plain attribute of a module."""
from __future__ import annotations

import ast
import re

from autofix.lazy import libcst as cst
from autofix.rule import AddImport, Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import FUNCTIONS, Grad, Kind, SemanticModel, is_true, keyword
from codemods._gf5 import GRAD_FACTORIES, optimizer_calls, torch_factory
from codemods._gf6 import module_name, self_name
from codemods._torch import Imports, ScopeNode, scope_chain, without_argument

# Methods that, overridden, let a class decide what it registers or saves: its own bookkeeping may cover the tensor.
_OWN_BOOKKEEPING = frozenset({"parameters", "named_parameters", "state_dict", "_apply", "__setattr__",
                              "__getattr__"})
_REGISTERING = frozenset({"register_parameter", "register_buffer"})

_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(9)


class Calibrated(nn.Module):
    # A linear layer and a learnt per-output scale; the scale is meant to train with it.
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 3)
        self.scale = torch.ones(3, requires_grad=True)

    def forward(self, x):
        return self.fc(x) * self.scale


x = torch.randn(128, 8, generator=g).to(device)
y = (x[:, :3] * torch.tensor([4.0, -3.0, 5.0])).to(device)
model = Calibrated().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
for step in range(10):
    optimizer.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
"""


class TrainableAttribute(Rule):
    """
    ## What it does
    Finds a tensor made to require gradients (`torch.randn(..., requires_grad=True)`,
    `torch.tensor(..., requires_grad=True)`, `torch.zeros(...).requires_grad_()`) and stored as a plain
    attribute of an `nn.Module` in `__init__` (`self.w = ...`), which the module then reads in `forward` or
    another method.

    ## Why is this bad?
    `nn.Module` registers only `nn.Parameter`s (and submodules) assigned to its attributes; a plain tensor is
    kept as an ordinary Python attribute, whatever its `requires_grad` (autograd fact "a requires_grad=True
    tensor kept as a plain module attribute is not in parameters() or state_dict()"). So:

    - it is not in `model.parameters()`: an optimizer built from them never updates it. `backward()` still
      gives it a `.grad` (it is a leaf that requires grad), and since `optimizer.zero_grad()` never clears that
      `.grad` either, it keeps growing (autograd fact "backward() gives it a gradient but the optimizer never
      changes it; the nn.Parameter beside it is updated");
    - it is not in `state_dict()`: checkpoints silently leave it out;
    - `model.to(device)`, `.cuda()`, `.double()` do not move or cast it: the first forward on the GPU raises a
      device mismatch.

    ## Example
    ```python
    class Calibrated(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 3)
            self.scale = torch.ones(3, requires_grad=True)
    ```

    ## Use instead
    ```python
            self.scale = nn.Parameter(torch.ones(3))
    ```
    (`nn.Parameter` requires grad by default; `register_buffer` for a tensor that must move and be saved
    but not train.)

    ## Runtime
    Silent: the tensor never trains (its gradient accumulates unused), is missing from checkpoints, and stays
    behind on `.to(device)`.

    ## Fix safety
    Unsafe and repairing: the fix wraps the tensor in `nn.Parameter(...)` (spelt with the name the file binds
    for `torch.nn`, or `torch.nn.Parameter`) and drops `requires_grad=True`, which `nn.Parameter` implies.
    Training changes (the optimizer now updates the tensor), and the `state_dict` gains a key: a checkpoint saved
    before the fix no longer loads with `strict=True` ("Missing key(s) in state_dict"). A tensor stored in a way
    the fix cannot rewrite (made elsewhere and assigned by name) is reported without a fix.

    Not reported: an attribute the class registers itself (`register_parameter`/`register_buffer` under the
    same name), a class that overrides `parameters()`, `state_dict()` or `__setattr__` (its own bookkeeping), a
    tensor the file hands to an optimizer or to `torch.autograd.grad` by itself, or whose `.grad` it reads (trained
    by hand), a tensor moved
    after `requires_grad=True` (`.to(device)` makes a non-leaf: GF503's), and an attribute assigned anything else
    elsewhere in the class.

    ## Effect
    Repairing: the tensor trains with the rest of the model, moves with it and is saved with it.
    """

    code = "GF609"
    name = "trainable-attribute"
    message = ("a trainable tensor kept as a plain module attribute: not in parameters() or state_dict(), so it "
               "never trains; wrap it in nn.Parameter")
    runtime = "silent: the tensor never trains, is left out of checkpoints and is not moved by .to()"
    fix_applicability = Applicability.UNSAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"requires_grad")

    examples = (
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass Scale(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.w = torch.randn(3, 4, requires_grad=True)\n\n"
            "    def forward(self, x):\n        return x @ self.w\n",
            None,
            "torch.randn(..., requires_grad=True) as a plain attribute",
            "import torch\nimport torch.nn as nn\n\n\nclass Scale(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.w = nn.Parameter(torch.randn(3, 4))\n\n"
            "    def forward(self, x):\n        return x @ self.w\n",
        ),
        Invalid(
            "import torch\nfrom torch import nn as tnn\n\n\nclass Temperature(tnn.Module):\n    def __init__(self, t0):\n"
            "        super().__init__()\n        self.t = torch.tensor([t0], requires_grad=True, dtype=torch.float32)\n\n"
            "    def forward(self, logits):\n        return logits / self.t\n",
            None,
            "torch.tensor(..., requires_grad=True), with the alias the file binds for nn",
            "import torch\nfrom torch import nn as tnn\n\n\nclass Temperature(tnn.Module):\n    def __init__(self, t0):\n"
            "        super().__init__()\n        self.t = tnn.Parameter(torch.tensor([t0], dtype=torch.float32))\n\n"
            "    def forward(self, logits):\n        return logits / self.t\n",
        ),
        Invalid(
            "import torch\nfrom torch.nn import Module, Parameter\n\n\nclass Bias(Module):\n"
            "    def __init__(self, n):\n        super().__init__()\n        self.b = torch.zeros(n).requires_grad_()\n\n"
            "    def forward(self, x):\n        return x + self.b\n",
            None,
            "requires_grad_() on a factory result, with `Parameter` imported by name",
            "import torch\nfrom torch.nn import Module, Parameter\n\n\nclass Bias(Module):\n"
            "    def __init__(self, n):\n        super().__init__()\n        self.b = Parameter(torch.zeros(n))\n\n"
            "    def forward(self, x):\n        return x + self.b\n",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass Gate(nn.Module):\n    def __init__(self, n):\n"
            "        super().__init__()\n        self.fc = nn.Linear(n, n)\n        self.alpha = torch.zeros(1, requires_grad=True)\n\n"
            "    def forward(self, x):\n        return self.gated(x)\n\n    def gated(self, x):\n"
            "        return x + self.alpha * self.fc(x)\n",
            None,
            "used in a method of the module other than forward",
            "import torch\nimport torch.nn as nn\n\n\nclass Gate(nn.Module):\n    def __init__(self, n):\n"
            "        super().__init__()\n        self.fc = nn.Linear(n, n)\n        self.alpha = nn.Parameter(torch.zeros(1))\n\n"
            "    def forward(self, x):\n        return self.gated(x)\n\n    def gated(self, x):\n"
            "        return x + self.alpha * self.fc(x)\n",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass Scale(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.w = nn.Parameter(torch.randn(3, 4))\n\n"
            "    def forward(self, x):\n        return x @ self.w\n",
            "already an nn.Parameter",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass Masked(nn.Module):\n    def __init__(self, n):\n"
            "        super().__init__()\n        self.fc = nn.Linear(n, n)\n        self.register_buffer('mask', torch.tril(torch.ones(n, n)))\n"
            "        self.causal = torch.tril(torch.ones(n, n))\n\n"
            "    def forward(self, x):\n        return self.fc(x) * self.mask * self.causal\n",
            "a buffer, and a constant mask that never requires grad",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass Probe(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.w = torch.randn(3, requires_grad=True)\n\n"
            "    def forward(self, x):\n        return x * self.w\n\n\nprobe = Probe()\n"
            "optimizer = torch.optim.SGD(list(probe.parameters()) + [probe.w], lr=0.1)\n",
            "the file hands the tensor to an optimizer itself",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass Scale(nn.Module):\n    def __init__(self, trainable):\n"
            "        super().__init__()\n        self.w = torch.ones(3, requires_grad=trainable)\n\n"
            "    def forward(self, x):\n        return x * self.w\n",
            "requires_grad not known to be True",
        ),
        Valid(
            "import torch\n\n\nclass Linear:\n    def __init__(self, n, m):\n"
            "        self.w = torch.randn(n, m, requires_grad=True)\n\n    def forward(self, x):\n        return x @ self.w\n\n"
            "    def parameters(self):\n        return [self.w]\n",
            "not an nn.Module: a from-scratch class that lists its own parameters",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass Scale(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.w = torch.randn(3, requires_grad=True)\n\n"
            "    def forward(self, x):\n        return x * self.w\n\n    def sgd(self, lr):\n        with torch.no_grad():\n"
            "            self.w -= lr * self.w.grad\n            self.w.grad.zero_()\n",
            "trained by hand: the class reads its `.grad`",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass Perturbation(nn.Module):\n    def __init__(self, shape):\n"
            "        super().__init__()\n        self.delta = torch.zeros(shape, requires_grad=True)\n\n"
            "    def forward(self, x):\n        return x + self.delta\n\n\ndef attack(model, noise, x, y, loss_fn):\n"
            "    (grad,) = torch.autograd.grad(loss_fn(model(noise(x)), y), noise.delta)\n    return grad.sign()\n",
            "an adversarial perturbation differentiated explicitly with torch.autograd.grad",
        ),
    )

    scenarios = (Scenario("linear-with-a-plain-scale-tensor", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        hand_trained: set[str] | None = None
        for cls in model.nodes(ast.ClassDef):
            if not model.is_module_class_def(cls) or _keeps_own_books(cls):
                continue
            uses = None
            for name in model.attribute_names(cls):
                assigned = model.class_attribute(cls, name)
                found = [(value, method) for value, method in assigned
                         if value is not None and getattr(method, "name", None) == "__init__"
                         and _plain_trainable(model, value)]
                if not found or len(found) != len(assigned):
                    continue  # assigned something else elsewhere (a Parameter later, None, a property)
                if uses is None:
                    uses = _uses(cls)
                if name not in uses[0] or name in uses[1]:
                    continue  # not used after __init__, or registered under that name by the class itself
                if hand_trained is None:
                    hand_trained = _hand_trained(model)
                if name in hand_trained:
                    continue
                for value, _ in found:
                    self.report(
                        value,
                        f"`self.{name}` requires grad but is a plain attribute, not an nn.Parameter: it is not in "
                        "parameters() or state_dict(), so the optimizer never trains it and .to() never moves it; "
                        "wrap it in nn.Parameter",
                        fix=Applicability.UNSAFE if _fixable(model, value) else None,
                    )

    def fix(self, finding, tree) -> Fix | None:
        node = tree.node_at(finding.range, cst.Call)
        if node is None:
            return None
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "requires_grad_":
            inner = node.func.value
        elif any(a.keyword is not None and a.keyword.value == "requires_grad" for a in node.args):
            inner = without_argument(node, "requires_grad")
        else:
            return None
        imports = Imports.of(tree.module, tree.context.cache)
        func, request = _parameter_name(imports, scope_chain(node, tree.parent))
        needed: tuple[AddImport, ...] = (request,) if request else ()
        return Fix((Edit(node, cst.Call(func, [cst.Arg(inner)])),), Applicability.UNSAFE, Effect.REPAIRING, needed)


def _parameter_name(imports: Imports, chain: list[ScopeNode]) -> tuple[cst.BaseExpression, AddImport | None]:
    """`Parameter` where the file imports it by name, else `<alias of torch.nn>.Parameter` (`nn.Parameter`,
    `tnn.Parameter`), else `torch.nn.Parameter` through the name bound to torch (imported when none is)."""
    for qualified in ("torch.nn.Parameter", "torch.nn.parameter.Parameter"):
        bound = imports.bound_to(qualified, chain)
        if bound is not None:
            return cst.Name(bound), None
    nn = imports.bound_to("torch.nn", chain)
    if nn is not None:
        return cst.Attribute(cst.Name(nn), cst.Name("Parameter")), None
    return module_name(imports, chain, "Parameter")


def _plain_trainable(model: SemanticModel, value: ast.AST) -> bool:
    """The model knows `value` as a plain tensor (not an nn.Parameter) that is a leaf requiring grad."""
    held = model.value(value)
    return held.kind is Kind.TENSOR and held.grad is Grad.LEAF


def _fixable(model: SemanticModel, value: ast.AST) -> bool:
    """`torch.<factory>(..., requires_grad=True)` or `<tensor>.requires_grad_()`: forms the fix rewrites."""
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    if isinstance(func, ast.Attribute) and func.attr == "requires_grad_":
        return (not value.args and not value.keywords) or (len(value.args) == 1 and is_true(value.args[0]))
    return torch_factory(model, value) in GRAD_FACTORIES and is_true(keyword(value, "requires_grad"))


def _keeps_own_books(cls: ast.ClassDef) -> bool:
    return any(isinstance(s, FUNCTIONS) and s.name in _OWN_BOOKKEEPING for s in cls.body)


def _uses(cls: ast.ClassDef) -> tuple[set[str], set[str]]:
    """(the names `self.<name>` is read under in a method of the class other than `__init__`, the names the
    class registers with `register_parameter`/`register_buffer`): one walk of the class's methods."""
    read: set[str] = set()
    registered: set[str] = set()
    for method in cls.body:
        if not isinstance(method, FUNCTIONS):
            continue
        me = self_name(method)
        for node in ast.walk(method):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _REGISTERING \
                    and node.args and isinstance(node.args[0], ast.Constant):
                registered.add(node.args[0].value)
            elif method.name != "__init__" and me is not None and isinstance(node, ast.Attribute) \
                    and isinstance(node.ctx, ast.Load) and isinstance(node.value, ast.Name) and node.value.id == me:
                read.add(node.attr)
    return read, registered


def _hand_trained(model: SemanticModel) -> set[str]:
    """Attribute names whose tensor the file trains by hand: read as `<x>.<name>.grad`, or named anywhere in an
    optimizer's arguments (`SGD([m.w])`, `list(m.parameters()) + [m.w]`) or of `torch.autograd.grad`: the receiver
    may be `self` or an instance;
    either way the tensor is trained explicitly. By name on purpose: a false match only keeps the rule silent."""
    names: set[str] = set()
    for node in model.nodes(ast.Attribute):
        if node.attr == "grad" and isinstance(node.value, ast.Attribute):
            names.add(node.value.attr)
    explicit = list(optimizer_calls(model))
    explicit += [c for c in model.calls_to_method("grad") if model.qualified_name(c.func) == "torch.autograd.grad"]
    for call in explicit:
        for argument in [*call.args, *(k.value for k in call.keywords)]:
            names.update(n.attr for n in ast.walk(argument) if isinstance(n, ast.Attribute))
    return names
