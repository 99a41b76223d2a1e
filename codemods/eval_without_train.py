"""GF606: `model.eval()` in the epoch loop and no `model.train()` before the next epoch's training steps."""
from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass

from autofix.lazy import libcst as cst
from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import Kind, SemanticModel, dotted
from codemods._gf5 import optimizer_calls
from codemods._steps import BACKWARD_METHODS, own_nodes

_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(4)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 64, bias=False), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.2))
        self.head = nn.Linear(64, 4)

    def forward(self, x):
        return self.head(self.body(x))


model = Net().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(128, 16, generator=g).to(device)
y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
x_val, y_val = x[:32], y[:32]


def evaluate():
    model.eval()
    with torch.no_grad():
        return (model(x_val).argmax(1) == y_val).float().mean().item()


for epoch in range(4):
    for batch in range(2):
        xb, yb = x[batch * 64:(batch + 1) * 64], y[batch * 64:(batch + 1) * 64]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    accuracy = evaluate()
"""

_DEPTH = 4  # how deep calls to this file's functions are followed
_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class _Event:
    kind: str  # "train", "eval", "step" (a backward() call), "maybe-train" (given to a function the file does not show)
    key: str | None  # the module switched (`model`, `self.model`); None: one the file cannot name here
    node: ast.AST  # where it happens, as seen from the loop: the call itself, or the call of the helper that does it


class EvalWithoutTrain(Rule):
    """
    ## What it does
    Finds a training loop that calls `model.eval()` after its training steps (a validation pass, directly or
    in a function of the same file that the loop calls) and never calls `model.train()` (directly, or in a
    called function) before the training steps of the next iteration.

    ## Why is this bad?
    `eval()` and `train()` set a flag that stays until it is set again. After the first validation pass every
    later epoch trains in eval mode: `nn.Dropout` does nothing and `nn.BatchNorm` normalises with its running
    statistics and stops updating them (checked on torch 2.13, `tests/test_gf6_with_torch.py`). Nothing
    fails; the model just trains as a different model from the first epoch on, usually over-fitting where
    dropout was meant to regularise.

    ## Example
    ```python
    for epoch in range(epochs):
        for x, y in train_loader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            validate(model, val_loader)
    ```

    ## Use instead
    ```python
    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            ...
        model.eval()
        with torch.no_grad():
            validate(model, val_loader)
    ```

    ## Runtime
    Silent: every epoch after the first trains with dropout off and BatchNorm statistics frozen.

    ## Fix safety
    Unsafe, repairing: the fix inserts `model.train()` as the first statement of the loop. That puts every
    layer in training mode at the start of each iteration, which is what the first iteration had, but it also
    undoes any layer the code froze on purpose before the loop (`model.backbone.eval()` to keep BatchNorm
    statistics fixed while fine-tuning): the file cannot show that such a freeze is not meant to last. A loop
    that switches the model to eval mode before its first training step (every epoch trains in eval mode, as
    the first one does) is not reported, nor a module the file does not show being trained (a frozen teacher
    switched to eval mode is not): the module must be given to an optimizer (`X.parameters()`), have
    `zero_grad()` called, or be switched to `train()` somewhere in the same function (or class).
    A `train()` in any branch counts, and so does a call of a function the file does not show that is given
    the module (or what holds it: `set_train_mode(model)`, `callback.on_epoch_begin(self)`), since it may
    call `train()`: an imported `evaluate(model, loader)` that restores training mode itself is common, so the
    rule says nothing after one. An `eval()` followed by `break` or `return` ends the loop.

    ## Effect
    Repairing: every epoch trains in training mode.
    """

    code = "GF606"
    name = "eval-without-train"
    message = "`eval()` is never undone: the next iterations train in eval mode (dropout off, BatchNorm frozen)"
    runtime = "silent: every epoch after the first trains with dropout off and BatchNorm statistics frozen"
    fix_applicability = Applicability.UNSAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"\.(eval|train)\(")

    examples = (
        Invalid(
            "import torch\n\n\ndef fit(model, loader, val_loader, epochs):\n"
            "    optimizer = torch.optim.Adam(model.parameters())\n    for epoch in range(epochs):\n"
            "        for x, y in loader:\n            optimizer.zero_grad()\n"
            "            loss_fn(model(x), y).backward()\n            optimizer.step()\n        model.eval()\n"
            "        with torch.no_grad():\n            for x, y in val_loader:\n                total = loss_fn(model(x), y)\n",
            None,
            "a validation pass at the end of each epoch",
            unsafe_after="import torch\n\n\ndef fit(model, loader, val_loader, epochs):\n"
            "    optimizer = torch.optim.Adam(model.parameters())\n    for epoch in range(epochs):\n"
            "        model.train()\n        for x, y in loader:\n            optimizer.zero_grad()\n"
            "            loss_fn(model(x), y).backward()\n            optimizer.step()\n        model.eval()\n"
            "        with torch.no_grad():\n            for x, y in val_loader:\n                total = loss_fn(model(x), y)\n",
        ),
        Invalid(
            "import torch\n\n\ndef evaluate(net, loader):\n    net.eval()\n    with torch.no_grad():\n"
            "        return sum(metric(net(x), y) for x, y in loader)\n\n\n"
            "def main(model, opt, loader, val_loader):\n    model.train()\n    for epoch in range(10):\n"
            "        for x, y in loader:\n            opt.zero_grad()\n            model(x).sub(y).pow(2).mean().backward()\n"
            "            opt.step()\n        print(evaluate(model, val_loader))\n",
            None,
            "the eval() is in a validation helper of the same file; train() only before the loop",
            unsafe_after="import torch\n\n\ndef evaluate(net, loader):\n    net.eval()\n    with torch.no_grad():\n"
            "        return sum(metric(net(x), y) for x, y in loader)\n\n\n"
            "def main(model, opt, loader, val_loader):\n    model.train()\n    for epoch in range(10):\n"
            "        model.train()\n        for x, y in loader:\n            opt.zero_grad()\n"
            "            model(x).sub(y).pow(2).mean().backward()\n"
            "            opt.step()\n        print(evaluate(model, val_loader))\n",
        ),
        Invalid(
            "import torch\n\n\nclass Trainer:\n    def __init__(self, model):\n        self.model = model\n"
            "        self.opt = torch.optim.SGD(model.parameters(), lr=0.1)\n\n    def validate(self):\n"
            "        self.model.eval()\n        with torch.no_grad():\n            return self.model(self.val_x)\n\n"
            "    def fit(self, loader, epochs):\n        for epoch in range(epochs):\n            for x, y in loader:\n"
            "                self.opt.zero_grad()\n                self.model(x).sum().backward()\n"
            "                self.opt.step()\n            self.validate()\n",
            None,
            "a method of the same class validates; the optimizer is the class's",
            unsafe_after="import torch\n\n\nclass Trainer:\n    def __init__(self, model):\n        self.model = model\n"
            "        self.opt = torch.optim.SGD(model.parameters(), lr=0.1)\n\n    def validate(self):\n"
            "        self.model.eval()\n        with torch.no_grad():\n            return self.model(self.val_x)\n\n"
            "    def fit(self, loader, epochs):\n        for epoch in range(epochs):\n            self.model.train()\n"
            "            for x, y in loader:\n                self.opt.zero_grad()\n"
            "                self.model(x).sum().backward()\n                self.opt.step()\n            self.validate()\n",
        ),
        Invalid(
            "import torch\n\n\ndef fit(model, opt, loader, val):\n    model.train()\n    for step, (x, y) in enumerate(loader):\n"
            "        opt.zero_grad()\n        model(x).sum().backward()\n        opt.step()\n        if step % 100 == 0:\n"
            "            model.eval()\n            print(loss_fn(model(val[0]), val[1]))\n",
            None,
            "an evaluation every 100 steps inside the batch loop",
            unsafe_after="import torch\n\n\ndef fit(model, opt, loader, val):\n    model.train()\n"
            "    for step, (x, y) in enumerate(loader):\n        model.train()\n"
            "        opt.zero_grad()\n        model(x).sum().backward()\n        opt.step()\n        if step % 100 == 0:\n"
            "            model.eval()\n            print(loss_fn(model(val[0]), val[1]))\n",
        ),
        Valid(
            "import torch\n\n\ndef fit(model, loader, val_loader, epochs):\n"
            "    optimizer = torch.optim.Adam(model.parameters())\n    for epoch in range(epochs):\n        model.train()\n"
            "        for x, y in loader:\n            optimizer.zero_grad()\n            loss_fn(model(x), y).backward()\n"
            "            optimizer.step()\n        model.eval()\n        score(model, val_loader)\n",
            "model.train() at the top of each epoch",
        ),
        Valid(
            "import torch\n\n\ndef evaluate(net, loader):\n    net.eval()\n    with torch.no_grad():\n"
            "        result = sum(metric(net(x), y) for x, y in loader)\n    net.train()\n    return result\n\n\n"
            "def main(model, opt, loader, val_loader):\n    model.train()\n    for epoch in range(10):\n"
            "        for x, y in loader:\n            opt.zero_grad()\n            model(x).sum().backward()\n"
            "            opt.step()\n        evaluate(model, val_loader)\n",
            "the validation helper calls train() again before it returns",
        ),
        Valid(
            "import torch\n\n\ndef train_one_epoch(model, opt, loader):\n    model.train()\n    for x, y in loader:\n"
            "        opt.zero_grad()\n        model(x).sum().backward()\n        opt.step()\n\n\n"
            "def main(model, opt, loader):\n    for epoch in range(10):\n        train_one_epoch(model, opt, loader)\n"
            "        model.eval()\n        test(model)\n",
            "the training helper calls model.train() first",
        ),
        Valid(
            "import torch\n\n\ndef distill(student, teacher, loader):\n"
            "    opt = torch.optim.SGD(student.parameters(), lr=0.1)\n    for epoch in range(3):\n        student.train()\n"
            "        for x in loader:\n            opt.zero_grad()\n            kl(student(x), teacher(x)).backward()\n"
            "            opt.step()\n        teacher.eval()\n",
            "a frozen teacher switched to eval mode: the file does not train it",
        ),
        Valid(
            "import torch\n\n\ndef finetune(model, loader):\n    opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "    for epoch in range(3):\n        model.eval()  # keep BatchNorm statistics fixed\n"
            "        for x, y in loader:\n            opt.zero_grad()\n            model(x).sum().backward()\n"
            "            opt.step()\n",
            "eval() before the first training step of every epoch: trained in eval mode on purpose, from the start",
        ),
        Valid(
            "import torch\n\n\ndef fit(model, opt, loader):\n    model.train()\n    for epoch in range(10):\n"
            "        for x, y in loader:\n            opt.zero_grad()\n            model(x).sum().backward()\n"
            "            opt.step()\n        if done(epoch):\n            model.eval()\n            break\n",
            "the loop ends right after eval()",
        ),
        Valid(
            "import torch\n\n\ndef fit(model, opt, loader):\n    model.train()\n    for epoch in range(10):\n"
            "        for x, y in loader:\n            opt.zero_grad()\n            model(x).sum().backward()\n"
            "            opt.step()\n    model.eval()\n    export(model)\n",
            "eval() after the loop, for export",
        ),
        Valid(
            "import torch\nfrom helpers import set_train_mode\n\n\ndef fit(model, opt, loader):\n"
            "    model.train()\n    for epoch in range(10):\n        set_train_mode(model)\n        for x, y in loader:\n"
            "            opt.zero_grad()\n            model(x).sum().backward()\n            opt.step()\n"
            "        model.eval()\n",
            "a function the file does not show is given the model before the steps: it may call train()",
        ),
        Valid(
            "def fit(env, policy, opt):\n    for episode in range(10):\n        opt.zero_grad()\n"
            "        policy.loss().backward()\n        opt.step()\n        env.eval()\n",
            "an object the file does not show being trained: its eval() is its own business",
        ),
    )

    scenarios = (Scenario("dropout-batchnorm-after-validation", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        events = _Events(model)
        innermost: dict[int, tuple[ast.AST, ast.AST, str]] = {}  # id(eval node) -> (eval node, loop, key)
        for loop in model.nodes(ast.For, ast.AsyncFor, ast.While):
            found = events.of_statements(loop.body, {}, 0, frozenset({id(model.function(loop))}))
            for event, key in _never_undone(model, found):
                if not _trained(model, loop, key):
                    continue
                known = innermost.get(id(event.node))
                if known is None or model.is_inside(loop, known[1]):
                    innermost[id(event.node)] = (event.node, loop, key)
        for node, loop, key in sorted(innermost.values(), key=lambda t: (t[0].lineno, t[0].col_offset)):
            shown = model.source(node) if isinstance(node, ast.Call) else f"{key}.eval()"
            self.report(
                node,
                f"`{shown}` leaves `{key}` in eval mode and nothing calls `{key}.train()` before the next "
                f"iteration's training steps: they run with dropout off and BatchNorm statistics frozen",
                fix=Applicability.UNSAFE if _insertable(loop) else None,
                data=(model.range(loop), key),
            )

    def fix(self, finding, tree) -> Fix | None:
        where, key = finding.data
        loop = tree.node_at(where, cst.For, cst.While)
        if loop is None or not isinstance(loop.body, cst.IndentedBlock) or not loop.body.body:
            return None
        statement = cst.parse_statement(f"{key}.train()\n")
        body = loop.body.with_changes(body=(statement, *loop.body.body))
        return Fix((Edit(loop, loop.with_changes(body=body)),), Applicability.UNSAFE, Effect.REPAIRING)


def _insertable(loop: ast.AST) -> bool:
    """The loop has an indented body on lines of its own (not `for x in y: a; b`)."""
    return loop.body[0].lineno > loop.lineno


class _Events:
    """The mode switches and training steps a piece of code runs, in order, following this file's functions."""

    def __init__(self, model: SemanticModel):
        self.model = model

    def of_statements(self, statements, mapping: dict[str, str | None], depth: int, active: frozenset,
                      origin: ast.AST | None = None) -> list[_Event]:
        model = self.model
        calls = [n for s in statements for n in own_nodes(s) if isinstance(n, ast.Call)]
        calls.sort(key=lambda c: (c.lineno, c.col_offset))
        events: list[_Event] = []
        for call in calls:
            func = call.func
            at = origin or call
            if isinstance(func, ast.Attribute):
                if func.attr in BACKWARD_METHODS:
                    events.append(_Event("step", None, at))
                    continue
                if func.attr in ("eval", "train") and self._module_like(func.value):
                    kind = "eval" if func.attr == "eval" and not call.args and not call.keywords else (
                        "eval" if func.attr == "train" and _false_mode(call) else "train")
                    if func.attr == "eval" and (call.args or call.keywords):
                        continue  # not nn.Module.eval()
                    events.append(_Event(kind, _translate(func.value, mapping), at))
                    continue
            helper = model.local_function(func)
            if helper is not None:
                if depth < _DEPTH and id(helper) not in active and isinstance(helper, (ast.FunctionDef,
                                                                                       ast.AsyncFunctionDef)):
                    inner = _arguments(model, helper, call, mapping)
                    events += self.of_statements(helper.body, inner, depth + 1, active | {id(helper)}, at)
                continue
            if isinstance(func, ast.Name) and func.id in _BUILTINS and model.bindings_reaching(func.id, func) is None:
                continue  # a builtin (`print(model)`, `len(loader)`)
            # A function the file does not show (`set_train_mode(model)`, a callback given the trainer) may call
            # train() on what it is given: it counts as one, so the rule stays quiet where the file is not clear.
            for arg in [*call.args, *(k.value for k in call.keywords)]:
                arg = arg.value if isinstance(arg, ast.Starred) else arg
                # The spelling first (cheap, and None for a call, a constant, a subscript...), then what the argument
                # holds, an inference: `model.training` is not module-like.
                given = _translate(arg, mapping)
                if given is not None and not self._module_like(arg):
                    given = None
                if given is not None:
                    events.append(_Event("maybe-train", given, at))
        return events

    def _module_like(self, receiver: ast.AST) -> bool:
        """What `eval()`/`train()` is called on may be an nn.Module (not a tensor, a number, a container...)."""
        return self.model.value(receiver).kind in (Kind.MODULE, Kind.UNKNOWN)


def _false_mode(call: ast.Call) -> bool:
    values = list(call.args[:1]) + [k.value for k in call.keywords if k.arg == "mode"]
    return any(isinstance(v, ast.Constant) and v.value is False for v in values)


def _translate(receiver: ast.AST, mapping: dict[str, str | None]) -> str | None:
    """The receiver's dotted name as the loop's own code would spell it (a helper's parameters replaced by the
    arguments it was called with); None when it cannot be spelt there."""
    name = dotted(receiver)
    if name is None:
        return None
    root, _, rest = name.partition(".")
    if root in mapping:
        outer = mapping[root]
        return None if outer is None else outer + ("." + rest if rest else "")
    return name


def _arguments(model: SemanticModel, helper: ast.AST, call: ast.Call, mapping: dict[str, str | None]) -> dict:
    """What each parameter of `helper` names at the call, in the caller's spelling (None: not a plain name).
    A helper's own local names map to None too (a module built inside the helper is not the loop's)."""
    inner: dict[str, str | None] = {}
    params = helper.args.posonlyargs + helper.args.args
    actual = list(call.args)
    if isinstance(call.func, ast.Attribute) and params and model.enclosing_class(helper) is not None:
        inner[params[0].arg] = _translate(call.func.value, mapping)  # `self.helper()`: self is the same object
        params = params[1:]
    for param, arg in zip(params, actual):
        inner[param.arg] = None if isinstance(arg, ast.Starred) else _translate(arg, mapping)
    for keyword in call.keywords:
        if keyword.arg is not None:
            inner[keyword.arg] = _translate(keyword.value, mapping)
    for param in [*params, *helper.args.kwonlyargs]:
        inner.setdefault(param.arg, None)
    scope = model.scope_of_definition(helper)
    if scope is not None:
        for name in scope.bindings:
            inner.setdefault(name, None)
    return inner


def _resets(train_key: str | None, eval_key: str) -> bool:
    """A `train()` on `train_key` puts `eval_key` back in training mode (or may: an unknown module, a parent, a
    part; counting a part keeps the rule quiet where the file is not clear)."""
    return train_key is None or train_key == eval_key or eval_key.startswith(train_key + ".") or \
        train_key.startswith(eval_key + ".")


def _never_undone(model: SemanticModel, events: list[_Event]) -> list[tuple[_Event, str]]:
    """The eval() events of one loop iteration that come after a training step, are not followed by a train() of
    the same module before the iteration ends, nor before the first training step of the next iteration."""
    steps = [i for i, e in enumerate(events) if e.kind == "step"]
    if not steps:
        return []
    first = steps[0]
    found = []
    for index, event in enumerate(events):
        if event.kind != "eval" or event.key is None or index < first:
            continue
        key = event.key
        # Switched to eval mode before the first step of an iteration, and left so: every iteration (the first too)
        # trains in eval mode, which is then the author's intent.
        mode_at_first_step = "train"
        for earlier in events[:first]:
            if earlier.kind == "eval" and earlier.key is not None and _resets(earlier.key, key):
                mode_at_first_step = "eval"
            elif earlier.kind == "train" and _resets(earlier.key, key):
                mode_at_first_step = "train"
        if mode_at_first_step == "eval":
            continue
        path = events[index + 1:] + events[:first]
        if any(e.kind in ("train", "maybe-train") and _resets(e.key, key) for e in path):
            continue
        if _exits_after(model, event.node):
            continue
        found.append((event, key))
    return found


def _exits_after(model: SemanticModel, node: ast.AST) -> bool:
    """A `break` or `return` follows the eval() in its own block: the loop ends there."""
    statement = model.statement(node)
    parent = model.parent(statement) if statement is not None else None
    if parent is None:
        return False
    for _, value in ast.iter_fields(parent):
        if isinstance(value, list) and any(s is statement for s in value):
            after = value[value.index(statement) + 1:]
            return any(isinstance(s, (ast.Break, ast.Return)) for s in after)
    return False


def _trained(model: SemanticModel, loop: ast.AST, key: str) -> bool:
    """The file shows that the module is trained: its `parameters()` go to an optimizer, its `zero_grad()` is
    called, or it is switched to `train()`, in the loop's function (or, for `self.x`, anywhere in the class)."""
    function = model.function(loop)
    cls = model.enclosing_class(function) if function is not None and key.startswith("self.") else None

    def here(node: ast.AST) -> bool:
        if cls is not None:
            return model.is_inside(node, cls)
        return model.function(node) is function

    def names_it(expr: ast.AST) -> bool:
        name = dotted(expr)
        return name is not None and (name == key or key.startswith(name + ".") or name.startswith(key + "."))

    # `self.model = model` next to `SGD(model.parameters())` in the same method names the same module.
    aliases: set[tuple[int, str]] = set()
    if cls is not None and key.count(".") == 1:
        for value, method in model.class_attribute(cls, key.split(".")[1]):
            if isinstance(value, ast.Name):
                aliases.add((id(method), value.id))

    for call in optimizer_calls(model):
        params = call.args[0]
        if not (here(call) and isinstance(params, ast.Call) and isinstance(params.func, ast.Attribute)
                and params.func.attr in ("parameters", "named_parameters")):
            continue
        owner = params.func.value
        if names_it(owner) or (isinstance(owner, ast.Name) and (id(model.function(call)), owner.id) in aliases):
            return True
    for call in model.calls_to_method("zero_grad", "train"):
        if here(call) and names_it(call.func.value) and not (call.func.attr == "train" and _false_mode(call)):
            return True
    return False
