"""GF404: a training loop that never clears gradients."""
from __future__ import annotations

import ast
import re

from autofix.rule import Applicability, Invalid, Rule, Valid
from autofix.semantic import SemanticModel, TrainingSteps, dotted
from codemods._steps import (
    BACKWARD_METHODS,
    Evidence,
    backward_kind,
    contains,
    manual_update,
    own_nodes,
)

# Gradients cleared without zero_grad(): by hand, or by a helper named for it.
_CLEARS_BY_HAND = re.compile(
    r"\.grad\s*=\s*(?:None|0\b|0\.0)|\.grad\.zero_\(|\.grad\.detach_\(|\.grad\.fill_\(|zero_grads|clear_grad|reset_grad"
)
_CLEARS_GRADIENTS = re.compile(
    r"zero_grad|\.grad\s*=\s*None|\.grad\.zero_\(|\.grad\.detach_\(|set_to_none|zero_grads|clear_grad|reset_grad"
)


class MissingZeroGrad(Rule):
    """
    ## What it does
    Finds a loop that calls `backward()` and steps an optimizer every iteration, where nothing may ever clear
    that optimizer's gradients. Judged per optimizer on the training-step model
    (`autofix.semantic.TrainingSteps`): in a GAN whose loop clears the discriminator's optimizer but never
    the generator's, the generator's gradients pile up.

    The update must be one the file shows: `step()` on an optimizer the semantic model knows
    (`torch.optim.Adam(...)`, `self.optimizer` assigned one in `__init__`, an `optimizer: Optimizer`
    annotation, or the first argument of an `lr_scheduler` constructor), `scaler.step(optimizer)`, or a
    hand-written update that reads `.grad`. An argument-free `step()` on an unknown object is not enough
    (the missing `zero_grad()` is exactly the evidence other rules use to tell an optimizer). Some
    `backward()` of the loop must be able to reach the optimizer's parameters.

    What may clear an optimizer's gradients, anywhere in the function (or, for `self.opt`, anywhere in its
    class): its own `zero_grad()`; a module's `zero_grad()` whose parameters may overlap the optimizer's (or
    where either set is not known); `p.grad = None`, `p.grad.zero_()` and their kin; a function or method of
    the same file that clears gradients; a call in the loop that is handed the optimizer (a hook, a helper).
    A hand-written update counts as cleared by any `zero_grad()` in the function.

    ## Why is this bad?
    `backward()` adds to `.grad`. Without clearing, every step applies the sum of all gradients so far:
    the effective learning rate grows with the step count and training diverges or oscillates, silently.

    ## Example
    ```python
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    ```

    ## Use instead
    ```python
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    ```

    ## Runtime
    Silent: gradients accumulate across iterations.

    ## Fix safety
    None: where to clear depends on the accumulation scheme (every iteration, or every k under `% k`).
    Loops without an update (OOM probes, benchmarks) are not reported.
    """

    code = "GF404"
    name = "missing-zero-grad"
    message = "backward() and step() every iteration, but gradients are never cleared: they accumulate"
    runtime = "silent: gradients accumulate across iterations"
    fix_applicability = Applicability.NONE
    fix_effect = None
    # Stable since its evidence is the training-step model: per optimizer, every way the function (or class)
    # may clear it counts, and a helper or hook handed the optimizer may clear it.
    preview = False
    prefilter = re.compile(r"backward\(")

    examples = (
        Invalid(
            "import torch\n\n\ndef train(model, loader, optimizer: torch.optim.Optimizer, criterion):\n"
            "    for x, y in loader:\n        loss = criterion(model(x), y)\n        loss.backward()\n"
            "        optimizer.step()\n",
            None,
            "the classic omission",
        ),
        Valid(
            "def train(model, loader, optimizer, criterion):\n    for x, y in loader:\n        optimizer.zero_grad()\n"
            "        loss = criterion(model(x), y)\n        loss.backward()\n        optimizer.step()\n",
            "cleared every iteration",
        ),
        Valid(
            "def probe(model, x):\n    for size in sizes:\n        model(x[:size]).sum().backward()\n",
            "an OOM probe: backward() without an update",
        ),
        Valid(
            "def train(model, loader, optimizer):\n    for x, y in loader:\n        loss(model(x), y).backward()\n"
            "        optimizer.step()\n        for p in model.parameters():\n            p.grad = None\n",
            "gradients set to None by hand",
        ),
        Invalid(
            "import torch\n\n\nclass Trainer:\n    def __init__(self, model):\n        self.model = model\n"
            "        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n\n    def fit(self, loader):\n"
            "        for epoch in range(3):\n            for x, y in loader:\n"
            "                self.model(x).sub(y).pow(2).mean().backward()\n                self.optimizer.step()\n",
            None,
            "an optimizer assigned in __init__; the epoch loop is reported once",
        ),
        Invalid(
            "import torch\n\nw = torch.zeros(3, requires_grad=True)\nfor x, y in data:\n"
            "    ((x @ w - y) ** 2).mean().backward()\n    with torch.no_grad():\n        w -= 0.1 * w.grad\n",
            None,
            "a hand-written update: gradients pile up in w.grad",
        ),
        Valid(
            "def train(model, loader, criterion, prof):\n    for x, y in loader:\n"
            "        criterion(model(x), y).backward()\n        prof.step()\n",
            "an argument-free step() on an unknown object (a profiler here): no update the file shows",
        ),
        Valid(
            "import torch\n\n\ndef train(model, loader, optimizer: torch.optim.Optimizer, accum=4):\n"
            "    for i, (x, y) in enumerate(loader):\n        model(x).sub(y).pow(2).mean().backward()\n"
            "        if (i + 1) % accum == 0:\n            optimizer.step()\n            model.zero_grad(set_to_none=True)\n",
            "gradient accumulation, cleared through the model",
        ),
        Valid(
            "import torch\n\n\nclass Trainer:\n    def __init__(self, model):\n        self.model = model\n"
            "        self.opt = torch.optim.SGD(model.parameters(), lr=0.1)\n\n    def _reset(self):\n"
            "        for p in self.model.parameters():\n            p.grad = None\n\n    def fit(self, loader):\n"
            "        for x in loader:\n            self.model(x).sum().backward()\n            self.opt.step()\n"
            "            self._reset()\n",
            "a method of the same class clears the gradients",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\nnetG = nn.Sequential(nn.Linear(4, 8), nn.Tanh())\n"
            "netD = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())\nbce = nn.BCELoss()\n"
            "optD = torch.optim.Adam(netD.parameters())\noptG = torch.optim.Adam(netG.parameters())\n"
            "for real, z in loader:\n    optD.zero_grad()\n    fake = netG(z)\n"
            "    errD = bce(netD(real), ones) + bce(netD(fake.detach()), zeros)\n    errD.backward()\n"
            "    optD.step()\n    errG = bce(netD(fake), ones)\n    errG.backward()\n    optG.step()\n",
            None,
            "a GAN: the discriminator's optimizer is cleared, the generator's never is",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\nnetG = nn.Sequential(nn.Linear(4, 8), nn.Tanh())\n"
            "netD = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())\nbce = nn.BCELoss()\n"
            "optD = torch.optim.Adam(netD.parameters())\noptG = torch.optim.Adam(netG.parameters())\n"
            "for real, z in loader:\n    netD.zero_grad()\n    fake = netG(z)\n"
            "    errD = bce(netD(real), ones) + bce(netD(fake.detach()), zeros)\n    errD.backward()\n"
            "    optD.step()\n    netG.zero_grad()\n    errG = bce(netD(fake), ones)\n    errG.backward()\n"
            "    optG.step()\n",
            "the same GAN clearing each network with its module's zero_grad()",
        ),
        Valid(
            "import torch\n\n\nclass Trainer:\n    def __init__(self, model):\n        self.model = model\n"
            "        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n\n"
            "    def on_step_end(self):\n        self.optimizer.zero_grad(set_to_none=True)\n\n"
            "    def fit(self, loader, callbacks):\n        for x, y in loader:\n"
            "            self.model(x).sub(y).pow(2).mean().backward()\n            self.optimizer.step()\n"
            "            callbacks.after_step(self)\n",
            'an optimizer on self, cleared in another method of its class',
        ),
        Valid(
            "import torch\n\n\ndef train(model, loader, hooks):\n"
            "    optimizer = torch.optim.Adam(model.parameters())\n    for x, y in loader:\n"
            "        model(x).sub(y).pow(2).mean().backward()\n        optimizer.step()\n"
            "        hooks.after_step(optimizer)\n",
            'the optimizer is handed to a hook each iteration, which may clear it',
        ),
        Valid(
            "from engine import MLP\n\nnet = MLP(3, [4, 4, 1])\nfor k in range(20):\n"
            "    loss = sum((net(x) - y) ** 2 for x, y in zip(xs, ys))\n    for p in net.parameters():\n"
            "        p.grad = 0.0\n    loss.backward()\n    for p in net.parameters():\n"
            "        p.data += -0.05 * p.grad\n",
            'a micrograd-style loop: gradients set to 0.0 by hand before backward()',
        ),
        Valid(
            "import numpy as np\n\nw = np.zeros(3)\nfor x, y in zip(xs, ys):\n"
            "    loss = Scalar(((x @ w - y) ** 2).sum())\n    loss.backward()\n    for p in params:\n"
            "        p.data -= 0.1 * p.grad\n        p.grad.fill_(0)\n",
            'gradients cleared with `.grad.fill_(0)` after a hand-written update',
        ),
    )

    def check(self, model: SemanticModel) -> None:
        evidence = Evidence.of(model)
        steps = TrainingSteps.of(model)
        seen: set[int] = set()
        by_hand: dict[int, bool] = {}
        zero_grads: dict[int, list[ast.Call]] | None = None
        for call in model.calls_to_method(*BACKWARD_METHODS):
            statement = model.statement(call)
            if statement is None or backward_kind(model, statement) != "plain":
                continue
            loops = model.enclosing_loops(statement)
            if not loops or id(loops[-1]) in seen:
                continue
            loop = loops[-1]  # an epoch loop and its batch loop are one training loop: report the outer one
            seen.add(id(loop))
            stepped = _stepped(evidence, loop)
            manual = contains(loop, manual_update)
            if not stepped and not manual:
                continue  # an OOM probe, a benchmark, or a step the file does not show
            scope = model.function(loop) or model.tree
            if id(scope) not in by_hand:
                by_hand[id(scope)] = bool(_CLEARS_BY_HAND.search(_text_of(model, scope)))
            if by_hand[id(scope)] or _calls_a_clearing_helper(model, loop):
                continue
            if zero_grads is None:
                zero_grads = _zero_grads_by_scope(model)
            if manual and zero_grads.get(id(scope)):
                continue  # a hand-written update: any zero_grad() in sight may be the one that clears it
            uncleared = [o for o in stepped if not _cleared(model, steps, o, scope, loop, zero_grads)
                         and _backward_may_reach(model, steps, loop, o)]
            if uncleared or (manual and not stepped):
                self.report(loop)


def _stepped(evidence: Evidence, loop) -> list:
    """The optimizers the loop steps (one expression per name), on evidence other than zero_grad()."""
    found: dict[str, object] = {}
    for statement in own_nodes(loop):
        if isinstance(statement, ast.stmt):
            optimizer = evidence.optimizer_step(statement, zero_grad_counts=False)
            if optimizer is not None:
                found.setdefault(dotted(optimizer) or str(id(optimizer)), optimizer)
    return list(found.values())


def _text_of(model: SemanticModel, scope) -> str:
    """The source of a function (or the whole file), sliced from the model's lines: no re-split per function."""
    if scope is model.tree:
        return model.text
    return "\n".join(model.lines[scope.lineno - 1 : scope.end_lineno])


def _zero_grads_by_scope(model: SemanticModel) -> dict[int, list[ast.Call]]:
    """Every `X.zero_grad()` call, filed under the file, each function around it and the class of each such
    method: built once per file, so each optimizer's question is a lookup."""
    found: dict[int, list[ast.Call]] = {}
    for call in model.calls_to_method("zero_grad"):
        found.setdefault(id(model.tree), []).append(call)
        function = model.function(call)
        while function is not None:  # a closure's zero_grad() counts for the functions around it too
            found.setdefault(id(function), []).append(call)
            if (cls := model.enclosing_class(function)) is not None:
                found.setdefault(id(cls), []).append(call)
            function = model.function(function)
    return found


def _cleared(model: SemanticModel, steps: TrainingSteps, optimizer, scope, loop, zero_grads) -> bool:
    """Something in the function (or, for `self.opt`, its class) may clear this optimizer's gradients: its own
    zero_grad(), a module's zero_grad() over some of its parameters (or one not known to miss them), or a call
    in the loop that is handed the optimizer (`trainer.update(opt)`)."""
    name = dotted(optimizer)
    where = scope
    if name and name.startswith("self.") and model.function(optimizer) is not None:
        where = model.enclosing_class(model.function(optimizer)) or scope
    for call in zero_grads.get(id(where), ()):
        statement = model.statement(call)
        if statement is None or steps.clears_some(statement, optimizer) is not False:
            return True
    handed = (n for n in own_nodes(loop) if isinstance(n, ast.Call)
              and not (isinstance(n.func, ast.Attribute) and n.func.attr == "step"))
    return any(dotted(a) == name for call in handed for a in [*call.args, *(k.value for k in call.keywords)])


def _backward_may_reach(model: SemanticModel, steps: TrainingSteps, loop, optimizer) -> bool:
    """Some backward() in the loop may put gradients on the optimizer's parameters."""
    return any(isinstance(s, ast.stmt) and backward_kind(model, s) is not None
               and steps.backward_reaches(s, optimizer) is not None for s in own_nodes(loop))


def _calls_a_clearing_helper(model: SemanticModel, loop) -> bool:
    """The loop calls a function or method of this file that clears gradients (`self._reset_grads()`)."""
    for node in own_nodes(loop):
        if isinstance(node, ast.Call):
            helper = model.local_function(node.func)
            if helper is not None and _CLEARS_GRADIENTS.search(model.source(helper)):
                return True
    return False
