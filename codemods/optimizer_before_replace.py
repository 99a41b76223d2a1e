"""GF602: a layer replaced after the optimizer was built over the model's parameters: the new layer never trains."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from autofix.lazy import libcst as cst
from autofix.rule import (
    Applicability,
    Edit,
    Effect,
    Fix,
    Invalid,
    Rule,
    Scenario,
    Valid,
)
from autofix.semantic import SemanticModel, dotted
from codemods._gf5 import optimizer_calls
from codemods._gf6 import fresh_state
from codemods._steps import Move, block_of, build_move, independent, own_nodes

_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(2)

# A "pretrained" network with a 10-class head, fine-tuned on a 4-class task.
model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 10)).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model[2] = nn.Linear(32, 4).to(device)
x = torch.randn(64, 16, generator=g).to(device)
y = torch.randint(0, 4, (64,), generator=g).to(device)
for step in range(10):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
"""

_PARAMETER_LISTS = frozenset({"parameters", "named_parameters"})


@dataclass(frozen=True)
class _Built:
    """An optimizer construction over `owner.parameters()`, bound to `target` by one assignment statement."""

    call: ast.Call
    statement: ast.stmt
    owner: str  # dotted: `model`, `self.model`
    target: str  # dotted: `optimizer`, `self.opt`


class OptimizerBeforeReplace(Rule):
    """
    ## What it does
    Finds an optimizer built over `model.parameters()` and then, in the same function (or script), a layer
    of `model` replaced by a new one (`model.fc = nn.Linear(...)`, `model[2] = ...`,
    `model.classifier[6] = ...`) while the optimizer goes on being used (`optimizer.step()`, or passed on to a
    training function).

    ## Why is this bad?
    The optimizer holds the parameter tensors it was given when it was built. A layer assigned afterwards
    has new tensors that it has never heard of: they get gradients at every `backward()`, but `step()` never
    updates them (autograd fact "a layer replaced after the optimizer was built gets gradients but is never
    updated"), while the optimizer keeps updating the old layer, which gets no gradient any more. This is the
    classic fine-tuning slip: the new head the task needs is the one layer that stays at its random
    initialisation.

    ## Example
    ```python
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    model.fc = nn.Linear(512, num_classes)
    ```

    ## Use instead
    ```python
    model.fc = nn.Linear(512, num_classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    ```

    ## Runtime
    Silent: training runs and the loss may even fall (the rest of the model adapts), but the new layer
    never moves.

    ## Fix safety
    Unsafe, repairing: the fix moves the optimizer's construction to just after the replacement, when the
    two are in the same block and nothing the construction crosses reads the optimizer or changes what it
    reads (besides the replacement itself). That is what the code meant, but it changes which tensors the
    optimizer holds, and in what order: the new layer now trains, the replaced one is gone from it, and an
    optimizer checkpoint saved by the old code describes a different parameter list. The file also cannot
    prove that the new layer was not meant to stay fixed. Not reported: a layer replaced before the optimizer
    is built, an optimizer rebuilt (or given `add_param_group`) after the replacement, a replacement that owns
    no parameters (`nn.Identity()`, `nn.ReLU()`), a new layer frozen right after, and a replacement on another
    model or on a name bound to a new model since.

    ## Effect
    Repairing: the new layer trains.
    """

    code = "GF602"
    name = "optimizer-before-replace"
    message = "a layer replaced after the optimizer was built: it gets gradients but the optimizer never updates it"
    runtime = "silent: the new layer gets gradients and never moves"
    fix_applicability = Applicability.UNSAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"parameters\(")

    examples = (
        Invalid(
            "import torch\nimport torch.nn as nn\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
            "model.fc = nn.Linear(512, 10)\nfor x, y in loader:\n    optimizer.zero_grad()\n"
            "    loss_fn(model(x), y).backward()\n    optimizer.step()\n",
            None,
            "a new head after the optimizer",
            unsafe_after="import torch\nimport torch.nn as nn\n\nmodel.fc = nn.Linear(512, 10)\n"
            "optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\nfor x, y in loader:\n    optimizer.zero_grad()\n"
            "    loss_fn(model(x), y).backward()\n    optimizer.step()\n",
        ),
        Invalid(
            "import torch\nfrom torch import nn\n\n\ndef finetune(model, loader, num_classes):\n"
            "    opt = torch.optim.Adam(model.parameters(), lr=1e-4)\n    device = next(model.parameters()).device\n"
            "    model.classifier[6] = nn.Linear(4096, num_classes).to(device)\n    train(model, loader, opt)\n",
            None,
            "an indexed layer of a submodule, moved to the device; the optimizer is passed on",
            unsafe_after="import torch\nfrom torch import nn\n\n\ndef finetune(model, loader, num_classes):\n"
            "    device = next(model.parameters()).device\n"
            "    model.classifier[6] = nn.Linear(4096, num_classes).to(device)\n"
            "    opt = torch.optim.Adam(model.parameters(), lr=1e-4)\n    train(model, loader, opt)\n",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\nseq = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))\n"
            "opt = torch.optim.SGD(seq.parameters(), lr=0.1)\nscheduler = torch.optim.lr_scheduler.StepLR(opt, 10)\n"
            "seq[2] = nn.Linear(4, 3)\nfor x, y in data:\n    opt.zero_grad()\n    loss(seq(x), y).backward()\n"
            "    opt.step()\n    scheduler.step()\n",
            None,
            "reported, no fix: the scheduler between them reads the optimizer",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\nmodel.fc = nn.Linear(512, 10)\n"
            "optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\nfor x, y in loader:\n    optimizer.step()\n",
            "the layer is replaced before the optimizer is built",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
            "model.fc = nn.Linear(512, 10)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
            "for x, y in loader:\n    optimizer.step()\n",
            "the optimizer is rebuilt after the replacement",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
            "model.fc = nn.Linear(512, 10)\noptimizer.add_param_group({'params': model.fc.parameters()})\n"
            "for x, y in loader:\n    optimizer.step()\n",
            "the new layer is added to the optimizer",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
            "train(model, optimizer)\nmodel.fc = nn.Identity()\nfeatures = model(x)\n",
            "the head is replaced by a layer without parameters, for feature extraction after training",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\nfor stage in stages:\n"
            "    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n    train(model, optimizer)\n"
            "    model.fc = nn.Linear(512, stage.classes)\n",
            "each stage builds a new optimizer after the previous stage's replacement",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
            "model.fc = nn.Linear(512, 10)\nmodel.fc.requires_grad_(False)\nfor x, y in loader:\n    optimizer.step()\n",
            "the new layer is frozen on purpose",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\noptimizer = torch.optim.SGD(student.parameters(), lr=0.01)\n"
            "teacher.fc = nn.Linear(512, 10)\nfor x, y in loader:\n    optimizer.step()\n",
            "a layer of another model",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
            "model = build()\nmodel.fc = nn.Linear(512, 10)\nfor x, y in loader:\n    optimizer.step()\n",
            "`model` names a new model by the time its layer is replaced",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
            "model.fc = nn.Linear(512, 10)\ntorch.save(model.state_dict(), 'head.pt')\n",
            "the optimizer is not used after the replacement",
        ),
    )

    scenarios = (Scenario("finetune-head-replaced-after-sgd", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        for built in _optimizers(model):
            replacements = [r for r in _replacements(model, built) if _still_used(model, built, r)]
            if not replacements:
                continue
            move = _plan(model, built, replacements)
            for replaced in replacements:
                where = model.source(replaced.targets[0])
                self.report(
                    replaced,
                    f"`{where}` is replaced after the optimizer on line {built.statement.lineno} was built over "
                    f"`{built.owner}.parameters()`: the new layer gets gradients, but this optimizer never updates it",
                    fix=Applicability.UNSAFE if move is not None else None,
                    data=move,
                )

    def fix(self, finding, tree) -> Fix | None:
        if finding.data is None:
            return None
        return _build(finding.data, tree)


def _optimizers(model: SemanticModel):
    """`target = Optimizer(owner.parameters(), ...)` statements."""
    for call in optimizer_calls(model):
        params = call.args[0]
        if not (isinstance(params, ast.Call) and isinstance(params.func, ast.Attribute)
                and params.func.attr in _PARAMETER_LISTS and not params.args and not params.keywords):
            continue
        owner = dotted(params.func.value)
        statement = model.parent(call)
        if owner is None or not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
            continue
        target = dotted(statement.targets[0])
        if target is not None:
            yield _Built(call, statement, owner, target)


def _under(owner: str, target: ast.AST) -> bool:
    """`target` names a part of `owner`: `owner.fc`, `owner[2]`, `owner.classifier[6]`."""
    base = target.value if isinstance(target, ast.Subscript) else target
    if isinstance(target, ast.Subscript):
        name = dotted(base)
        return name is not None and (name == owner or name.startswith(owner + "."))
    name = dotted(target)
    return name is not None and name.startswith(owner + ".")


def _in_scope_after(model: SemanticModel, node: ast.AST, built: _Built) -> bool:
    return model.function(node) is model.function(built.statement) and _start(node) > _end(built.statement)


def _replacements(model: SemanticModel, built: _Built) -> list[ast.Assign]:
    """Assignments of a new layer with parameters to a part of the optimizer's owner, after it was built."""
    found = []
    for assign in model.nodes(ast.Assign):
        if len(assign.targets) != 1 or not _in_scope_after(model, assign, built):
            continue
        target = assign.targets[0]
        if not isinstance(target, (ast.Attribute, ast.Subscript)) or not _under(built.owner, target):
            continue
        if fresh_state(model, assign.value) is None:
            continue  # nn.Identity(), an existing module, something unknown: no new parameters the file shows
        if _rebound_between(model, built.owner, built.statement, assign) or _frozen_after(model, target, assign):
            continue
        found.append(assign)
    return found


def _rebound_between(model: SemanticModel, owner: str, first: ast.stmt, then: ast.stmt) -> bool:
    """The owner's root name (or the owner itself, for `self.model`) was assigned again between the two."""
    root = owner.split(".")[0]
    for assign in model.nodes(ast.Assign, ast.AnnAssign, ast.AugAssign):
        if model.function(assign) is not model.function(first) or not _end(first) < _start(assign) < _start(then):
            continue
        targets = assign.targets if isinstance(assign, ast.Assign) else [assign.target]
        for target in targets:
            for node in ast.walk(target):
                name = dotted(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
                if name is not None and isinstance(node.ctx, ast.Store) and (
                        name == root or name == owner or owner.startswith(name + ".")):
                    return True
    return False


def _frozen_after(model: SemanticModel, target: ast.AST, assign: ast.Assign) -> bool:
    """The new layer is frozen later in the same function (`model.fc.requires_grad_(False)`, or a loop setting
    `requires_grad` over its parameters)."""
    text = model.source(target)
    function = model.function(assign)
    for call in model.calls_to_method("requires_grad_", "parameters"):
        if model.function(call) is function and _start(call) > _end(assign) and \
                model.source(call.func.value).startswith(text):
            if call.func.attr == "requires_grad_":
                return True
            loop = model.parent(call)
            if isinstance(loop, (ast.For, ast.AsyncFor)) and loop.iter is call and "requires_grad" in model.source(loop):
                return True
    return False


def _still_used(model: SemanticModel, built: _Built, replaced: ast.Assign) -> bool:
    """After the replacement, the same optimizer steps (`opt.step()`) or goes to a call (`train(model, opt)`), and
    it is neither rebuilt nor given `add_param_group` between the two."""
    function = model.function(built.statement)
    uses = []
    for node in model.nodes(ast.Name, ast.Attribute):
        if dotted(node) != built.target or model.function(node) is not function or not _start(node) > _end(replaced):
            continue
        if isinstance(node.ctx, ast.Store):
            continue
        parent = model.parent(node)
        if isinstance(parent, ast.Attribute) and parent.attr == "add_param_group":
            return False
        if isinstance(parent, ast.Attribute) and parent.attr == "step" and isinstance(model.parent(parent), ast.Call):
            uses.append(node)
        elif isinstance(parent, ast.Call) and node in parent.args or isinstance(parent, ast.keyword):
            uses.append(node)
    return any(_reached_by(model, built, use, replaced) for use in uses)


def _reached_by(model: SemanticModel, built: _Built, use: ast.AST, replaced: ast.Assign) -> bool:
    """The optimizer the use sees may be the one built before the replacement: nothing assigns its name again
    between the two (and, inside a function, that construction is among the bindings that reach the use)."""
    function = model.function(use)
    for node in model.nodes(ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.With):
        if model.function(node) is not function or not _end(built.statement) < _start(node) < _start(use):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [
            item.optional_vars for item in node.items] if isinstance(node, ast.With) else [node.target]
        if any(t is not None and dotted(t) == built.target for t in targets):
            return False
    if isinstance(use, ast.Name) and function is not None:
        return any(b.node is built.statement for b in model.bindings_reaching(use.id, use) or [])
    return True


def _plan(model: SemanticModel, built: _Built, replacements: list[ast.Assign]) -> Move | None:
    """Move the optimizer's construction to just after the last replacement in its block, when every statement
    it crosses (the replacements aside) is independent of it and each statement is alone on its lines."""
    block = block_of(model, built.statement)
    if block is None:
        return None
    index = next(i for i, s in enumerate(block) if s is built.statement)
    anchors = [i for i, s in enumerate(block) if any(s is r for r in replacements)]
    if not anchors or len(anchors) != len(replacements):
        return None  # a replacement nested in another statement (an `if`): where to build the optimizer is a choice
    anchor = max(anchors)
    crossed = [s for i, s in enumerate(block) if index < i <= anchor and i not in anchors]
    if not independent(model, [built.statement], crossed):
        return None
    lines = [block[index], block[anchor]]
    for statement in lines:
        neighbours = [s for s in block if s is not statement]
        if any(not (n.end_lineno < statement.lineno or n.lineno > statement.end_lineno) for n in neighbours):
            return None  # `a; b` on one line
    if any(isinstance(n, ast.NamedExpr) for s in crossed for n in own_nodes(s)):
        return None
    return Move((model.range(built.statement),), model.range(block[anchor]), after=True)


def _build(move: Move, tree) -> Fix | None:
    """The edits of `move`: the optimizer's statement goes just after the replacement, keeping its comments; blank
    lines that only separated it from what came before stay where they were, on the statement that now follows."""
    key = ("gf602-move", move)
    if key in tree.context.cache:
        return tree.context.cache[key]
    types = (cst.SimpleStatementLine, cst.BaseCompoundStatement)
    moved, anchor = tree.node_at(move.moved[0], *types), tree.node_at(move.anchor, *types)
    fix = None
    if moved is not None and anchor is not None:
        parent = tree.parent(moved)
        body = list(getattr(parent, "body", ()))
        after = body[body.index(moved) + 1] if moved in body and body.index(moved) + 1 < len(body) else None
        blank = all(line.comment is None for line in moved.leading_lines)
        if not blank or after is None:
            fix = build_move(move, tree, Effect.REPAIRING)
        else:
            shifted = moved.with_changes(leading_lines=())
            inherited = lambda s: s.with_changes(leading_lines=(*moved.leading_lines, *s.leading_lines))
            edits = [Edit(moved, cst.RemovalSentinel.REMOVE)]
            if after is anchor:
                edits.append(Edit(anchor, cst.FlattenSentinel([inherited(anchor), shifted])))
            else:
                edits += [Edit(after, inherited(after)), Edit(anchor, cst.FlattenSentinel([anchor, shifted]))]
            fix = Fix(tuple(edits), Applicability.UNSAFE, Effect.REPAIRING)
    tree.context.cache[key] = fix
    return fix


def _start(node: ast.AST) -> tuple[int, int]:
    return (node.lineno, node.col_offset)


def _end(node: ast.AST) -> tuple[int, int]:
    return (node.end_lineno or node.lineno, node.end_col_offset or node.col_offset)
