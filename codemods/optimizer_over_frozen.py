"""GF507: an optimizer over `model.parameters()` after the whole `model` was frozen in the same function."""
from __future__ import annotations

import ast
import re

from autofix.rule import Applicability, Invalid, Rule, Valid
from autofix.semantic import SemanticModel, dotted, is_false
from codemods._gf5 import optimizer_calls, unconditional

_PARAMETER_LISTS = ("parameters", "named_parameters")


class OptimizerOverFrozen(Rule):
    """
    ## What it does
    Finds, within one function or script, a module frozen whole (`model.requires_grad_(False)`, or a loop
    setting `p.requires_grad = False` for every `p` in `model.parameters()`) and then given to an optimizer
    as `model.parameters()`, with nothing unfrozen in between.

    ## Why is this bad?
    The optimizer accepts frozen parameters without complaint, but they never get a gradient, so `step()`
    does nothing. Checked on torch 2.13: `SGD(frozen.parameters())` builds, and a loss computed only from
    the frozen module raises "element 0 of tensors does not require grad and does not have a grad_fn" at
    backward; when the loss also depends on something else that trains, nothing is raised and the frozen
    module silently stays as it was. (Building a module under `torch.no_grad()` does not freeze it: its
    parameters still require grad, so that is not reported.)

    ## Example
    ```python
    model.requires_grad_(False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    ```

    ## Use instead
    ```python
    model.requires_grad_(False)
    model.head.requires_grad_(True)          # unfreeze what should train
    optimizer = torch.optim.Adam(model.head.parameters(), lr=1e-4)
    ```

    ## Runtime
    Raises "element 0 of tensors does not require grad" at backward, or trains nothing, silently.

    ## Fix safety
    No fix: only the author knows which part was meant to train. Partial freezing (a submodule, a
    condition, a name filter) and any unfreezing before the optimizer are left alone.
    """

    code = "GF507"
    name = "optimizer-over-frozen"
    message = "an optimizer over a module frozen whole: it has nothing to train"
    runtime = "raises 'element 0 of tensors does not require grad' at backward, or silently trains nothing"
    fix_applicability = Applicability.NONE
    fix_effect = None
    prefilter = re.compile(r"requires_grad")

    examples = (
        Invalid(
            "import torch\nmodel.requires_grad_(False)\noptimizer = torch.optim.Adam(model.parameters(), lr=1e-4)\n",
            reason="frozen with requires_grad_",
        ),
        Invalid(
            "import torch\ndef train(model):\n    for p in model.parameters():\n        p.requires_grad = False\n"
            "    opt = torch.optim.SGD(model.parameters(), lr=0.1)\n",
            reason="frozen in a loop",
        ),
        Valid(
            "import torch\nmodel.backbone.requires_grad_(False)\noptimizer = torch.optim.Adam(model.parameters())\n",
            "only a part is frozen: the rest trains",
        ),
        Valid(
            "import torch\nmodel.requires_grad_(False)\nmodel.head.requires_grad_(True)\n"
            "optimizer = torch.optim.Adam(model.parameters())\n",
            "the head is unfrozen before the optimizer is built",
        ),
        Valid(
            "import torch\nif args.freeze:\n    model.requires_grad_(False)\noptimizer = torch.optim.Adam(model.parameters())\n",
            "frozen only under a condition",
        ),
        Valid(
            "import torch\nfor name, p in model.named_parameters():\n    if 'bert' in name:\n        p.requires_grad = False\n"
            "optimizer = torch.optim.Adam(model.parameters())\n",
            "frozen by name: partial",
        ),
        Valid(
            "import torch\nteacher.requires_grad_(False)\noptimizer = torch.optim.Adam(student.parameters())\n",
            "a frozen teacher and a trained student",
        ),
        Invalid(
            "from torch.optim import AdamW\n\n\ndef finetune(encoder):\n    encoder.requires_grad_(requires_grad=False)\n"
            "    return AdamW(encoder.parameters(), lr=1e-5)\n",
            reason="the optimizer imported by name, requires_grad_ given as a keyword",
        ),
        Valid(
            "import torch\n\n\ndef train(make):\n    model = make()\n    model.requires_grad_(False)\n"
            "    model = make()\n    return torch.optim.SGD(model.parameters(), lr=0.1)\n",
            "the name holds a new model by the time the optimizer is built",
        ),
        Valid(
            "import torch\n\n\ndef freeze(model):\n    model.requires_grad_(False)\n\n\n"
            "def build(model):\n    return torch.optim.SGD(model.parameters(), lr=0.1)\n",
            "frozen in another function: whether it runs first is not shown",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\nmodel = nn.Sequential(nn.Linear(8, 8), nn.ReLU())\n"
            "model.requires_grad_(False)\nmodel.head = nn.Linear(8, 3)\n"
            "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n",
            "a new head is attached after the freeze: the optimizer trains it",
        ),
        Valid(
            "import torch\n\nmodel.requires_grad_(False)\nreplace_linear_with_lora(model, rank=8)\n"
            "optimizer = torch.optim.AdamW(model.parameters())\n",
            "the frozen model is handed to a function that may add trainable layers (LoRA)",
        ),
    )

    def check(self, model: SemanticModel) -> None:
        changes: dict[int, list[tuple[tuple[int, int], str | None]]] | None = None
        for optimizer in optimizer_calls(model):
            params = optimizer.args[0]
            if not (isinstance(params, ast.Call) and isinstance(params.func, ast.Attribute)
                    and params.func.attr in _PARAMETER_LISTS and not params.args and not params.keywords):
                continue
            owner = dotted(params.func.value)
            if owner is None:
                continue
            if changes is None:
                changes = _requires_grad_changes(model)
            frozen_on = None
            at = (optimizer.lineno, optimizer.col_offset)
            # The last change of requires_grad before the optimizer, in the same scope, decides.
            for position, frozen in changes.get(id(model.scope(optimizer)), ()):
                if position >= at:
                    break
                if frozen is None or frozen == _TOUCHED + owner.split(".")[0]:
                    frozen_on = None  # something is unfrozen, or the frozen model may have gained parameters
                elif frozen == owner:
                    frozen_on = position
            if frozen_on is None or _rebound_since(model, owner, frozen_on, optimizer):
                continue
            self.report(
                optimizer,
                f"every parameter of `{owner}` was frozen on line {frozen_on[0]}: this optimizer has nothing to train",
            )


def _requires_grad_changes(model: SemanticModel) -> dict[int, list[tuple[tuple[int, int], str | None]]]:
    """Per scope, in source order: (position, what was frozen whole) for each change of requires_grad.
    What is the dotted owner for `owner.requires_grad_(False)` or a loop freezing each of
    `owner.parameters()`; None for anything that may unfreeze (or freeze only part, conditionally)."""
    changes: dict[int, list[tuple[tuple[int, int], str | None]]] = {}

    def add(node: ast.AST, owner: str | None) -> None:
        changes.setdefault(id(model.scope(node)), []).append(((node.lineno, node.col_offset), owner))

    for call in model.calls_to_method("requires_grad_"):
        if _is_false_call(call):
            owner = dotted(call.func.value)
            if owner is not None and unconditional(model, call):
                add(call, owner)
        else:
            add(call, None)
    for loop in model.nodes(ast.For):
        owner = _frozen_by_loop(model, loop)
        if owner is not None:
            add(loop, owner)
    for target in model.nodes(ast.Attribute):
        if target.attr == "requires_grad" and isinstance(target.ctx, ast.Store):
            assign = model.parent(target)
            if not (isinstance(assign, ast.Assign) and is_false(assign.value)):
                add(target, None)
    # What may add trainable parameters to a frozen model counts as an unfreeze: a new layer assigned into it
    # (`model.classifier = nn.Sequential(...)`, `model[2] = ...`), or the model handed to a function or method
    # that may (`replace_linear_with_lora(model)`, `model.add_module(...)`).
    for statement in model.nodes(ast.Assign):
        for target in statement.targets:
            if isinstance(target, (ast.Attribute, ast.Subscript)) and _root_name(target) is not None \
                    and not (isinstance(target, ast.Attribute) and target.attr == "requires_grad"):
                add(statement, _TOUCHED + _root_name(target))
    for call in model.nodes(ast.Call):
        if isinstance(call.func, ast.Attribute) and call.func.attr in _ADDS_PARAMETERS \
                and _root_name(call.func.value) is not None:
            add(call, _TOUCHED + _root_name(call.func.value))
        elif not (isinstance(call.func, ast.Attribute) and call.func.attr in ("requires_grad_", *_PARAMETER_LISTS)):
            for argument in [*call.args, *(k.value for k in call.keywords)]:
                if _root_name(argument) is not None:
                    add(call, _TOUCHED + _root_name(argument))
    for found in changes.values():
        found.sort(key=lambda change: change[0])
    return changes


_TOUCHED = "touched:"  # a change that may add parameters to what the name after it holds
# Module methods that register new parameters or submodules.
_ADDS_PARAMETERS = frozenset({"add_module", "register_module", "register_parameter", "append", "extend", "insert",
                              "update", "apply"})


def _root_name(expr: ast.AST) -> str | None:
    """The name at the root of `a.b[c].d`, or None."""
    while isinstance(expr, (ast.Attribute, ast.Subscript)):
        expr = expr.value
    return expr.id if isinstance(expr, ast.Name) else None


def _frozen_by_loop(model: SemanticModel, loop: ast.For) -> str | None:
    """`for p in owner.parameters(): p.requires_grad = False` (unconditionally, at the top of the body)."""
    iterated = loop.iter
    if not (isinstance(iterated, ast.Call) and isinstance(iterated.func, ast.Attribute)
            and iterated.func.attr in _PARAMETER_LISTS):
        return None
    target = loop.target
    if isinstance(target, ast.Tuple) and target.elts:
        target = target.elts[-1]
    if not isinstance(target, ast.Name) or not unconditional(model, loop):
        return None
    if any(_freezes(statement, target.id) for statement in loop.body):
        return dotted(iterated.func.value)
    return None


def _rebound_since(model: SemanticModel, owner: str, frozen_at: tuple[int, int], optimizer: ast.Call) -> bool:
    """The owner's name was bound again between the freeze and the optimizer (a new model)."""
    root = owner.split(".")[0]
    use = optimizer.args[0]
    at = (optimizer.lineno, optimizer.col_offset)
    return any(frozen_at < b.position < at for b in model.bindings_reaching(root, use) or ())


def _is_false_call(call: ast.Call) -> bool:
    if len(call.args) == 1 and not call.keywords:
        return is_false(call.args[0])
    return not call.args and len(call.keywords) == 1 and call.keywords[0].arg == "requires_grad" and is_false(
        call.keywords[0].value
    )


def _freezes(statement: ast.stmt, name: str) -> bool:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        return dotted(statement.targets[0]) == f"{name}.requires_grad" and is_false(statement.value)
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        return dotted(statement.value.func) == f"{name}.requires_grad_" and _is_false_call(statement.value)
    return False
