"""GF608: a loss accumulated across iterations with its autograd graph (`running_loss += loss`)."""
from __future__ import annotations

import ast
import re

from autofix.lazy import libcst as cst
from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import FUNCTIONS, Grad, Kind, SemanticModel
from codemods._torch import AllOf, AnyWord, receiver

# Calls whose arguments (or receiver) are differentiated: a value that reaches one is backpropagated as a whole.
# Matched by method name on purpose: a false match only keeps the rule silent.
_DIFFERENTIATING = frozenset({"backward", "manual_backward", "grad", "scale", "vjp", "jvp"})
_TO_NUMBER = frozenset({"item", "tolist", "detach", "numpy"})
_BUILTIN_NUMBERS = frozenset({"float", "int", "round", "str", "repr", "bool", "print"})
# What made a loss: torch.nn.functional's losses and torch.nn's `*Loss` modules (the model's `origin`).
_LOSS_ORIGIN = re.compile(
    r"^torch\.nn\.(functional\.(\w+_loss|cross_entropy|binary_cross_entropy(_with_logits)?|kl_div|\w+_embedding_loss"
    r"|triplet_margin\w*)|(modules\.loss\.)?\w+Loss)$"
)
_APPENDS = frozenset({"append", "extend", "insert"})
_FOLLOW_DEPTH = 3

_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(8)

x = torch.randn(256, 16, generator=g).to(device)
y = (x @ torch.randn(16, 1, generator=g).to(device)).squeeze(1)
model = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 1)).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
running_loss = 0.0
for step in range(12):
    optimizer.zero_grad()
    loss = F.mse_loss(model(x).squeeze(1), y)
    loss.backward()
    optimizer.step()
    running_loss += loss
print(f"mean loss {running_loss / 12:.4f}")
"""


class LossKeptWithGraph(Rule):
    """
    ## What it does
    Finds a loss that requires grad accumulated across the iterations of a loop into something that lives
    longer than one iteration: `running_loss += loss`, `epoch_loss = epoch_loss + loss`, `history.append(loss)`,
    where the accumulated value is never backpropagated as a whole and autograd is on. A loss is what a torch loss
    (`F.cross_entropy`, `nn.MSELoss()`, ...) returned, or what the loop calls `.backward()` on. "Never backpropagated as a whole" is either proved by the loop itself (it calls
    `loss.backward()` without `retain_graph`, so the graph cannot be run through again), or read from the total's
    uses: each one is printed, logged, converted (`.item()`, `float()`), or feeds names and calls whose results are
    used the same way; none reaches `.backward()` or `autograd.grad`, is returned, or is stored on an object.

    ## Why is this bad?
    A loss that requires grad carries its autograd graph. Adding it to a running total makes the total a new
    node whose inputs are the previous total and this iteration's loss, so the total keeps every iteration's graph
    alive for as long as it lives (autograd fact "running_loss += loss keeps every iteration's graph alive (it
    grows linearly)"); a list of losses does the same. `backward()` frees the saved tensors of the graph it ran
    through, but not its nodes: the memory still grows every iteration, and without a `backward()` through the
    loss (an evaluation loop outside `no_grad`) every activation the forward pass saved is kept too. Long runs
    slow down and finally run out of memory, with no error pointing here.

    ## Example
    ```python
    running_loss = 0.0
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        running_loss += loss
    ```

    ## Use instead
    ```python
        running_loss += loss.detach()
    ```
    (or `loss.item()`: a Python number, but one GPU synchronisation per iteration).

    ## Runtime
    Silent: memory grows by one graph per iteration until the loop ends (or the process runs out of memory).

    ## Fix safety
    Safe and preserving: the fix accumulates `loss.detach()` instead of `loss`. It has the same value, dtype and
    device, so the total holds exactly the numbers it held before (the same float32 additions: `.item()` would
    add in float64 instead, and waits for the GPU once per iteration), and every later use of the total
    (`.item()`, `float()`, formatting, arithmetic) still works; only the graph is gone, which nothing used, since
    the rule has checked that no backward pass reaches the total. Training is unchanged, step for step.

    Not reported: accumulation under `torch.no_grad()`/`inference_mode()` (in the function, or around a call of the
    function in this file) or of a value already cut
    (`loss.item()`, `loss.detach()`); a sum that is backpropagated (gradient accumulation over micro-batches, a
    loss summed over heads then `total.backward()`), returned, or stored on an object; and a loss not known to
    require grad (the model must know it as graph-connected, or see `backward()` called on it).

    ## Effect
    Preserving: the same training, numbers and output; memory stays flat.
    """

    code = "GF608"
    name = "loss-kept-with-graph"
    message = "a loss accumulated with its autograd graph: every iteration's graph stays alive; accumulate .detach()"
    runtime = "silent: memory grows by one autograd graph per iteration"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.PRESERVING
    # Both must match: an accumulation, and a loss (a torch loss's name, or a backward() the loss goes through).
    prefilter = AllOf(AnyWord("+", ".append("), AnyWord("backward", "loss", "Loss", "cross_entropy", "kl_div"))

    examples = (
        Invalid(
            "import torch.nn.functional as F\n\nrunning_loss = 0.0\nfor x, y in loader:\n    optimizer.zero_grad()\n"
            "    loss = F.cross_entropy(model(x), y)\n    loss.backward()\n    optimizer.step()\n"
            "    running_loss += loss\nprint(running_loss / len(loader))\n",
            "import torch.nn.functional as F\n\nrunning_loss = 0.0\nfor x, y in loader:\n    optimizer.zero_grad()\n"
            "    loss = F.cross_entropy(model(x), y)\n    loss.backward()\n    optimizer.step()\n"
            "    running_loss += loss.detach()\nprint(running_loss / len(loader))\n",
            "running_loss += loss after backward (known to require grad: backward() is called on it)",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\nnet = nn.Linear(8, 1)\n\n\ndef evaluate(loader):\n"
            "    epoch_loss = 0\n    for x, y in loader:\n        pred = net(x)\n"
            "        epoch_loss = epoch_loss + nn.functional.mse_loss(pred, y) * len(x)\n    return float(epoch_loss)\n",
            "import torch\nimport torch.nn as nn\n\nnet = nn.Linear(8, 1)\n\n\ndef evaluate(loader):\n"
            "    epoch_loss = 0\n    for x, y in loader:\n        pred = net(x)\n"
            "        epoch_loss = epoch_loss + (nn.functional.mse_loss(pred, y) * len(x)).detach()\n    return float(epoch_loss)\n",
            "epoch_loss = epoch_loss + ... in an evaluation loop outside no_grad (returned only as a float)",
        ),
        Invalid(
            "import torch.nn as nn\n\nmodel = nn.Linear(4, 2)\ncriterion = nn.MSELoss()\nhistory = []\n"
            "for epoch in range(10):\n    for x, y in loader:\n        loss = criterion(model(x), y)\n"
            "        loss.backward()\n        opt.step()\n        history.append(loss)\nplot(history)\n",
            "import torch.nn as nn\n\nmodel = nn.Linear(4, 2)\ncriterion = nn.MSELoss()\nhistory = []\n"
            "for epoch in range(10):\n    for x, y in loader:\n        loss = criterion(model(x), y)\n"
            "        loss.backward()\n        opt.step()\n        history.append(loss.detach())\nplot(history)\n",
            "history.append(loss) in a list kept across epochs",
        ),
        Invalid(
            "import torch\n\n\ndef train_epoch(model, loader, optimizer, loss_fn):\n"
            "    loss_sum = torch.zeros(())\n    for x, y in loader:\n        optimizer.zero_grad()\n"
            "        loss = loss_fn(model(x), y)\n        loss.backward()\n        optimizer.step()\n"
            "        loss *= len(x)\n        loss_sum += loss\n    return loss_sum.item()\n",
            "import torch\n\n\ndef train_epoch(model, loader, optimizer, loss_fn):\n"
            "    loss_sum = torch.zeros(())\n    for x, y in loader:\n        optimizer.zero_grad()\n"
            "        loss = loss_fn(model(x), y)\n        loss.backward()\n        optimizer.step()\n"
            "        loss *= len(x)\n        loss_sum += loss.detach()\n    return loss_sum.item()\n",
            "the loss scaled in place after backward(), then added to a tensor total: it is still the backpropagated loss",
        ),
        Valid(
            "import torch.nn.functional as F\n\nfor batch in loader:\n    total = 0\n    for micro in batch.chunks(4):\n"
            "        total = total + F.mse_loss(model(micro.x), micro.y) / 4\n    total.backward()\n    opt.step()\n",
            "gradient accumulation whose sum is backpropagated",
        ),
        Valid(
            "import torch\nimport torch.nn.functional as F\n\nrunning = 0.0\nwith torch.no_grad():\n    for x, y in val_loader:\n"
            "        running += F.cross_entropy(model(x), y)\n",
            "accumulated under no_grad: no graph is built",
        ),
        Valid(
            "import torch.nn.functional as F\n\nrunning_loss = 0.0\nlosses = []\nfor x, y in loader:\n"
            "    loss = F.cross_entropy(model(x), y)\n    loss.backward()\n    running_loss += loss.item()\n"
            "    losses.append(loss.detach())\n",
            ".item() and .detach(): nothing kept",
        ),
        Valid(
            "import torch\nimport torch.nn.functional as F\n\n\ndef multi_scale_loss(preds, target):\n    loss = 0\n"
            "    for pred in preds:\n        loss += F.l1_loss(pred, target)\n    return loss\n",
            "a sum of loss terms that is returned: the caller backpropagates it",
        ),
        Valid(
            "import torch\nimport torch.nn.functional as F\n\nlosses = []\nfor task in tasks:\n"
            "    loss = F.mse_loss(learner(task.x), task.y)\n    loss.backward(retain_graph=True)\n    losses.append(loss)\n"
            "meta = torch.stack(losses).mean()\nmeta.backward()\n",
            "the list's contents are backpropagated as a whole later (through another name)",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\nnet = nn.Linear(8, 2)\n\n\n"
            "def report(loader):\n    total = 0.0\n    for x, y in loader:\n        total += F.cross_entropy(net(x), y)\n"
            "    print(total / len(loader))\n\n\nwith torch.no_grad():\n    report(val_loader)\n",
            "the function that accumulates is called under no_grad",
        ),
        Valid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass ChunkedLoss(nn.Module):\n"
            "    def __init__(self, encoder):\n        super().__init__()\n        self.encoder = encoder\n\n"
            "    def forward(self, chunks, targets, backward_now=False):\n        parts = []\n"
            "        for x, y in zip(chunks, targets):\n            part = F.mse_loss(self.encoder(x), y)\n"
            "            if backward_now:\n                part.backward()\n                part = part.detach()\n"
            "            parts.append(part)\n        return sum(parts)\n",
            "backward() runs on one path only, and that path appends the detached value; on the other the list's sum "
            "is returned for the caller to backpropagate",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\nnet = nn.Linear(4, 2)\n"
            "opt = torch.optim.SGD(net.parameters(), lr=0.1)\n\n\ndef mean_loss(loader):\n    total = 0.0\n"
            "    with torch.no_grad():\n        for x, y in loader:\n            total += F.cross_entropy(net(x), y).item()\n"
            "    return total / len(loader)\n\n\nhistory = []\nfor epoch in range(3):\n    for x, y in loader:\n"
            "        loss = F.cross_entropy(net(x), y)\n        opt.zero_grad()\n        loss.backward()\n        opt.step()\n"
            "    loss = mean_loss(loader)\n    history.append(loss)\n",
            "a script's loop rebinds the name to a float before it is kept: the value appended is the float, in "
            "execution order",
        ),
    )

    scenarios = (Scenario("running-loss-kept-with-graph", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        uses = None
        for statement, target, added in _accumulations(model):
            if model.grad_enabled(statement) is False:
                continue
            loops = model.enclosing_loops(statement)
            if not loops:
                continue
            graph = _graph(model, added, loops[0])
            if graph is None:
                continue
            if not _bound_outside(model, target, loops[0]):
                continue  # reset within the iteration: nothing lives across iterations
            if graph != "consumed":
                if _called_without_grad(model, statement):
                    continue  # a caller turns autograd off around this function: no graph is built
                if uses is None:
                    uses = _NameUses(model)
                if not uses.only_read(target, statement):
                    continue
            what = model.source(added) if len(model.source(added)) <= 40 else "the loss"
            self.report(
                added,
                f"`{target.id}` accumulates `{what}` with its autograd graph, and nothing backpropagates `{target.id}`: "
                "every iteration's graph stays alive and memory grows each iteration; accumulate `.detach()`",
                fix=Applicability.SAFE,
            )

    def fix(self, finding, tree) -> Fix | None:
        node = tree.node_at(finding.range, cst.BaseExpression)
        if node is None:
            return None
        fixed = cst.Call(func=cst.Attribute(receiver(node), cst.Name("detach")))
        return Fix((Edit(node, fixed),), Applicability.SAFE, Effect.PRESERVING)


def _accumulations(model: SemanticModel):
    """(statement, the name accumulated into, the expression added): `t += e`, `t = t + e` (or `e + t`),
    `t.append(e)` on a name the model knows as a container."""
    for node in model.nodes(ast.AugAssign):
        if isinstance(node.op, ast.Add) and isinstance(node.target, ast.Name):
            yield node, node.target, node.value
    for node in model.nodes(ast.Assign):
        value = node.value
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name) or not isinstance(value, ast.BinOp) \
                or not isinstance(value.op, ast.Add):
            continue
        name = node.targets[0].id
        if isinstance(value.left, ast.Name) and value.left.id == name:
            yield node, node.targets[0], value.right
        elif isinstance(value.right, ast.Name) and value.right.id == name:
            yield node, node.targets[0], value.left
    for call in model.calls_to_method("append"):
        owner = call.func.value
        statement = model.parent(call)
        if isinstance(owner, ast.Name) and isinstance(statement, ast.Expr) and len(call.args) == 1 \
                and not call.keywords and model.value(owner).kind is Kind.CONTAINER:
            yield statement, owner, call.args[0]


def _graph(model: SemanticModel, added: ast.AST, loop: ast.AST) -> str | None:
    """Whether `added` holds a tensor with an autograd graph: "consumed" when it is (a product or quotient of) a
    name the loop calls `.backward()` on without `retain_graph` (only a graph-connected tensor allows that, and
    backward() frees the saved tensors of its graph, so no later sum of it can be backpropagated through them
    again), "kept" when the model knows it as graph-connected, None when neither is known."""
    held = model.value(added)
    if held.grad in (Grad.CUT, Grad.OFF, Grad.LEAF):
        return None
    name = _graph_name(added)
    reaching = _origins(model, name) if name is not None else set()
    if reaching:
        # Every value that may reach the accumulation must be one the loop ran backward() on: where another
        # binding reaches it too (`loss = loss.detach()` after the backward on one path, a float from an evaluation
        # helper, or no backward on the other branch), that value's graph is not consumed.
        consumed: set[int] = set()
        for call in model.calls_to_method("backward"):
            backed = call.func.value
            if isinstance(backed, ast.Name) and backed.id == name.id and model.is_inside(call, loop) \
                    and not any(k.arg == "retain_graph" for k in call.keywords) and len(call.args) < 2:
                consumed |= _origins(model, backed)
        if reaching <= consumed:
            return "consumed"
    # The model's `data` is not trusted against a backward() call (it says `data` for the output of an
    # `nn.Sequential` given plain data, whatever its layers), but it is not taken as a graph either.
    if held.is_tensor and held.grad is Grad.CONNECTED and _is_loss(model, added):
        return "kept"
    return None


def _origins(model: SemanticModel, name: ast.Name, depth: int = 0) -> set[int]:
    """The bindings whose value `name` holds, looking through in-place updates (`loss *= n` after `loss = ...;
    loss.backward()` is still that loss)."""
    found: set[int] = set()
    # In execution order also in a script's own statements (a notebook's training loop), where any binding of a
    # module global may otherwise reach any use.
    for binding in model.bindings_in_flow(name.id, name) or ():
        target = getattr(binding.node, "target", None)
        if binding.kind == "aug" and isinstance(target, ast.Name) and depth < 4:
            found |= {b for b in _origins(model, target, depth + 1) if b != id(binding)}
        else:
            found.add(id(binding))
    return found


def _is_loss(model: SemanticModel, expr: ast.AST) -> bool:
    """What `expr` holds (or the tensor it scales) was made by a torch loss (functional or module). A hand-written
    loss (`(pred - y).pow(2).mean()`) counts only through a backward() call on it (see `_graph`)."""
    if isinstance(expr, ast.BinOp):
        return any(_is_loss(model, side) for side in (expr.left, expr.right))
    origin = model.value(expr).origin or ""
    if _LOSS_ORIGIN.match(origin):
        return True
    if isinstance(expr, ast.Name):
        bindings = model.bindings_reaching(expr.id, expr) or []
        return bool(bindings) and all(b.kind == "assign" and not b.path and b.value is not None
                                      and b.value is not expr and _is_loss(model, b.value) for b in bindings)
    return False


def _called_without_grad(model: SemanticModel, node: ast.AST) -> bool:
    """The function holding `node` is called, somewhere in this file, where autograd is off (`with torch.no_grad():
    evaluate(...)`): whatever it accumulates there carries no graph. (A backward() on the loss proves the opposite,
    and is checked first.)"""
    function = model.function(node)
    if function is None:
        return False
    sites = model.call_sites.of(function) or ()
    return any(site.call is not None and model.grad_enabled(site.call) is False for site in sites)


def _graph_name(expr: ast.AST) -> ast.Name | None:
    """`loss` in `loss`, `loss * n`, `loss / k`, `n * loss`."""
    if isinstance(expr, ast.Name):
        return expr
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Mult, ast.Div)):
        left, right = _graph_name(expr.left), _graph_name(expr.right)
        if (left is None) != (right is None):
            return left or right
    return None


def _bound_outside(model: SemanticModel, target: ast.Name, loop: ast.AST) -> bool:
    """The accumulator has a binding outside the loop (its start value), so it outlives one iteration."""
    bindings = model.bindings_reaching(target.id, target)
    if not bindings:
        return False
    return any(not model.is_inside(b.node, loop) for b in bindings)


class _NameUses:
    """Every load of a name, by (scope node, name): built on the first candidate, from the model's index of names."""

    def __init__(self, model: SemanticModel):
        self.model = model
        self.loads: dict[tuple[int, str], list[ast.Name]] = {}
        for node in model.nodes(ast.Name):
            if isinstance(node.ctx, ast.Load):
                self.loads.setdefault((id(model.scope(node).node), node.id), []).append(node)

    def only_read(self, target: ast.Name, statement: ast.stmt, depth: int = 0) -> bool:
        """No use of the accumulator is backpropagated, returned, yielded or stored beyond a plain name: its uses
        are reads (printing, logging, `.item()`, arithmetic) or feed names whose uses are reads in turn."""
        scope = self.model.scope(target).node
        if isinstance(scope, ast.ClassDef) or depth > _FOLLOW_DEPTH:
            return False
        if self._shared(target.id, scope):
            return False
        for use in self.loads.get((id(scope), target.id), ()):
            if use is _accumulated_operand(statement):
                continue
            if not self._read(use, depth):
                return False
        return True

    def _shared(self, name: str, scope: ast.AST) -> bool:
        """`global name`/`nonlocal name` somewhere, or (at module level) a function that reads the name."""
        for node in self.model.nodes(ast.Global, ast.Nonlocal):
            if name in node.names:
                return True
        if isinstance(scope, ast.Module):
            return any(key[1] == name and key[0] != id(scope) for key in self.loads)
        return False

    def _read(self, use: ast.Name, depth: int) -> bool:
        model = self.model
        child: ast.AST = use
        for parent in model.ancestors(use):
            if isinstance(parent, ast.Attribute) and parent.attr in _DIFFERENTIATING:
                return False
            if isinstance(parent, ast.Attribute) and parent.attr in _TO_NUMBER:
                return True  # `.item()`, `.tolist()`, `.detach()`: what comes out carries no graph
            if isinstance(parent, ast.Call) and child is not parent.func and isinstance(parent.func, ast.Name) \
                    and parent.func.id in _BUILTIN_NUMBERS and model.bindings_reaching(parent.func.id, parent) is None:
                return True  # float(total), round(total, 3), print(total)
            if isinstance(parent, ast.Call):
                func = parent.func
                if child is not func and isinstance(func, ast.Attribute) and func.attr in _DIFFERENTIATING:
                    return False
                if child is not func and isinstance(func, ast.Attribute) and func.attr in _APPENDS \
                        and isinstance(func.value, ast.Name):
                    return self._follow(func.value, depth)  # into a list: the list's uses decide
                if child is not func and isinstance(func, ast.Name) and model.local_function(func) is not None:
                    return False  # a function of this file may backpropagate what it is given
            if isinstance(parent, (ast.Return, ast.Yield, ast.YieldFrom, ast.Lambda)):
                return False
            if isinstance(parent, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
                if child is not getattr(parent, "value", None):
                    return True
                names = [n for t in targets for n in (_names(t) or [None])]
                if None in names:
                    return False  # stored on an object or in a container
                return all(self._follow(t, depth) for t in names)
            if isinstance(parent, (ast.For, ast.AsyncFor)) and child is parent.iter:
                targets = _names(parent.target)
                return targets is not None and all(self._follow(t, depth) for t in targets)
            if isinstance(parent, (ast.stmt, *FUNCTIONS)):
                return True  # an expression statement (its value discarded), a test, ...
            child = parent
        return True

    def _follow(self, name: ast.Name, depth: int) -> bool:
        statement = self.model.statement(name)
        return self.only_read(name, statement, depth + 1)


def _names(target: ast.AST) -> list[ast.Name] | None:
    """The names a target binds (`a`, `a, (b, c)`), or None when it stores anywhere else."""
    if isinstance(target, ast.Name):
        return [target]
    if isinstance(target, (ast.Tuple, ast.List)):
        found = [_names(e) for e in target.elts]
        return None if any(f is None for f in found) else [n for f in found for n in f]
    return None


def _accumulated_operand(statement: ast.stmt) -> ast.AST | None:
    """The accumulator's own read in `t = t + e` (not a use that escapes)."""
    if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.BinOp):
        for side in (statement.value.left, statement.value.right):
            if isinstance(side, ast.Name) and side.id == statement.targets[0].id:
                return side
    return None
