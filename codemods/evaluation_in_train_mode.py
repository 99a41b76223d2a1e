"""GF610: a model evaluated under `no_grad`/`inference_mode` while it is in training mode, with Dropout or
BatchNorm layers."""
from __future__ import annotations

import ast
import re

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
from autofix.semantic import FUNCTIONS, SemanticModel, TrainingSteps, dotted
from codemods._modes import ModeLayers

_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(6)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 64, bias=False), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.3))
        self.head = nn.Linear(64, 4)

    def forward(self, x):
        return self.head(self.body(x))


model = Net().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(128, 16, generator=g).to(device)
y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
x_val, y_val = x[:32], y[:32]
for epoch in range(4):
    for batch in range(2):
        xb, yb = x[batch * 64:(batch + 1) * 64], y[batch * 64:(batch + 1) * 64]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        val_loss = F.cross_entropy(model(x_val), y_val).item()
"""

_DEPTH = 3  # how many callers up the mode at a function's start is looked for
_TRAINING = ("backward", "step")


class EvaluationInTrainMode(Rule):
    """
    ## What it does
    Finds a forward call of a model under `torch.no_grad()` or `torch.inference_mode()` (a `with` block or a
    function decorated with one) where the model is in training mode and has layers whose forward depends on
    the mode: Dropout, BatchNorm, and the others torch documents (`RReLU`; `InstanceNorm` with
    `track_running_stats=True`; a Transformer layer's default dropout; a recurrent layer or attention with
    `dropout > 0`; a class whose methods read `self.training`).

    The mode is known from the file: a module is in training mode when it is built (`model = Net()`) and after
    `train()`; `eval()` and `train(False)` end it. Inside a function that does not switch the model itself, the
    mode comes from its callers in the file: every call must pass a model in training mode. A function whose
    callers are not all known, or any mode not known, is not reported. The call must be an evaluation, not part
    of a training step: a no_grad forward in a loop whose iterations run `backward()` or an optimizer step (a
    GAN's generator sampled for its discriminator, an RL target network) is not reported. Nor is a model the code
    switched to `train()` for the no_grad passes themselves, with no training step between (Monte Carlo dropout,
    recomputing BatchNorm's statistics as `torch.optim.swa_utils.update_bn` does), nor one handed first to a
    function the file does not show (it may call `eval()`). A function of the file that switches the model counts by
    the mode it leaves it in (`train_epoch(model)` that calls `model.train()` first leaves training mode).

    ## Why is this bad?
    `no_grad` turns autograd off; it does not change the mode. In training mode, under `no_grad`, Dropout still
    drops units, so the same batch gives a different loss at every pass, and BatchNorm normalises with the
    batch's statistics and moves its running statistics towards the validation data, so evaluating changes the
    trained model itself (checked on torch 2.13, `tests/test_gf610_with_torch.py`: on a Linear-BatchNorm-Dropout
    model, five validation passes of one fixed batch moved `running_mean` by 14.0 and `running_var` by 31.4 in
    total over 32 channels, and the loss spread over 0.047; after `eval()` nothing moved and the loss was constant).

    ## Example
    ```python
    model = Net()                      # has nn.Dropout and nn.BatchNorm1d
    for epoch in range(epochs):
        train_one_epoch(model, loader, optimizer)
        with torch.no_grad():
            val_loss = criterion(model(x_val), y_val)
    ```

    ## Use instead
    ```python
    for epoch in range(epochs):
        train_one_epoch(model, loader, optimizer)
        model.eval()
        with torch.no_grad():
            val_loss = criterion(model(x_val), y_val)
        model.train()
    ```

    ## Runtime
    Silent: metrics are noisy and biased by dropout, and each evaluation pass moves BatchNorm's running
    statistics, which the model uses in every later eval-mode prediction.

    ## Fix safety
    Unsafe, repairing: the fix puts `model.eval()` before the `with` block, and `model.train()` after it when
    training continues in the function (a training step after the block, or in the loop around it). `eval()`
    switches every submodule, including one the code kept in another mode on purpose, and a later `train()`
    switches every submodule back to training mode, undoing a deliberate freeze (`model.backbone.eval()`).
    Where the mode comes from the callers (a decorated evaluation function), no fix is offered.

    ## Effect
    Repairing: the evaluation runs in eval mode, and training goes on in training mode.
    """

    code = "GF610"
    name = "evaluation-in-train-mode"
    message = "the model is evaluated under no_grad in training mode: dropout drops and BatchNorm statistics move"
    runtime = "silent: noisy, biased metrics, and each evaluation moves BatchNorm's running statistics"
    fix_applicability = Applicability.UNSAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"no_grad|inference_mode")

    examples = (
        Invalid(
            "import torch\nimport torch.nn as nn\n\n"
            "model = nn.Sequential(nn.Linear(8, 16), nn.Dropout(0.5), nn.Linear(16, 1))\n"
            "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "for epoch in range(10):\n    for x, y in loader:\n        opt.zero_grad()\n"
            "        (model(x) - y).pow(2).mean().backward()\n        opt.step()\n"
            "    with torch.no_grad():\n        val = (model(x_val) - y_val).pow(2).mean().item()\n",
            None,
            "a validation pass after each epoch of a model built here (training mode) with dropout",
            unsafe_after="import torch\nimport torch.nn as nn\n\n"
            "model = nn.Sequential(nn.Linear(8, 16), nn.Dropout(0.5), nn.Linear(16, 1))\n"
            "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "for epoch in range(10):\n    for x, y in loader:\n        opt.zero_grad()\n"
            "        (model(x) - y).pow(2).mean().backward()\n        opt.step()\n"
            "    model.eval()\n    with torch.no_grad():\n        val = (model(x_val) - y_val).pow(2).mean().item()\n"
            "    model.train()\n",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.conv = nn.Conv2d(3, 8, 3)\n"
            "        self.bn = nn.BatchNorm2d(8)\n\n"
            "    def forward(self, x):\n        return self.bn(self.conv(x)).mean((1, 2, 3))\n\n\n"
            "@torch.no_grad()\ndef evaluate(net, loader):\n    return sum(metric(net(x), y) for x, y in loader)\n\n\n"
            "def main(loader, val_loader):\n    model = Net()\n    opt = torch.optim.Adam(model.parameters())\n"
            "    model.train()\n    for epoch in range(5):\n        for x, y in loader:\n            opt.zero_grad()\n"
            "            model(x).sub(y).pow(2).mean().backward()\n            opt.step()\n"
            "        print(evaluate(model, val_loader))\n",
            None,
            "a decorated evaluation function; its only caller passes the model in training mode (no fix there)",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self, p):\n"
            "        super().__init__()\n        self.fc = nn.Linear(4, 4)\n        self.p = p\n\n"
            "    def forward(self, x):\n"
            "        return nn.functional.dropout(self.fc(x), self.p, training=self.training)\n\n\n"
            "def test(net, xs):\n    with torch.inference_mode():\n        for x in xs:\n"
            "            print(net(x).argmax(1))\n\n\n"
            "def run(xs):\n    model = Net(0.2)\n    test(model, xs)\n",
            None,
            "inference_mode; functional dropout that follows self.training; the mode from the only caller",
        ),
    )
    examples += (
        Valid(
            "import torch\nimport torch.nn as nn\n\n"
            "model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))\n"
            "with torch.no_grad():\n    val = model(x_val)\n",
            "no Dropout or BatchNorm: training and eval mode compute the same",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n"
            "model = nn.Sequential(nn.Linear(8, 16), nn.Dropout(), nn.Linear(16, 1))\n"
            "model.eval()\nwith torch.no_grad():\n    val = model(x_val)\n",
            "eval() before the evaluation",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\nmodel = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16))\n"
            "model.train(False)\nwith torch.no_grad():\n    val = model(x_val)\n",
            "train(False) is eval()",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\nmodel = nn.Sequential(nn.Linear(8, 16), nn.Dropout(0.0))\n"
            "with torch.no_grad():\n    val = model(x_val)\n",
            "dropout with p=0 drops nothing",
        ),
        Valid(
            "import torch\n\n\n@torch.no_grad()\ndef evaluate(model, loader):\n"
            "    return sum(metric(model(x), y) for x, y in loader)\n",
            "the callers are not in the file: the mode is not known",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\n@torch.no_grad()\ndef evaluate(net, loader):\n"
            "    return sum(metric(net(x), y) for x, y in loader)\n\n\n"
            "def main(loader):\n    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout())\n"
            "    model.eval()\n    print(evaluate(model, loader))\n",
            "the only caller set eval mode before the call",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\n@torch.no_grad()\ndef evaluate(net, loader):\n"
            "    return sum(metric(net(x), y) for x, y in loader)\n\n\n"
            "def main(loader, flag):\n    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout())\n"
            "    if flag:\n        model.eval()\n    print(evaluate(model, loader))\n\n\n"
            "def other(m, loader):\n    evaluate(m, loader)\n",
            "one caller may have set eval mode, another passes a model of unknown mode",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\nG = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16))\n"
            "D = nn.Linear(16, 1)\nopt = torch.optim.Adam(D.parameters())\nfor real in loader:\n"
            "    with torch.no_grad():\n        fake = G(torch.randn(64, 8))\n    opt.zero_grad()\n"
            "    (D(fake).mean() - D(real).mean()).backward()\n    opt.step()\n",
            "a generator sampled for the discriminator's training step: part of a training step",
        ),
        Valid(
            "import torch\n\n\ndef evaluate(model, loader):\n    with torch.no_grad():\n"
            "        for x, y in loader:\n            print(metric(model(x), y))\n\n\n"
            "def main(model, loader):\n    evaluate(model, loader)\n",
            "a model passed in from outside the file: its mode and layers are not known",
        ),
    )

    examples += (
        Valid(
            "import torch\nimport torch.nn as nn\n\nmodel = nn.Sequential(nn.Linear(4, 4), nn.Dropout())\n\n\n"
            "def prepare(m):\n    m.eval()\n    return m\n\n\nprepare(model)\nwith torch.no_grad():\n"
            "    out = model(x)\n",
            "a function of the file switched the model to eval mode first",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\nfrom utils import freeze_for_eval\n\n"
            "model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))\nfreeze_for_eval(model)\n"
            "with torch.no_grad():\n    out = model(x)\n",
            "a function the file does not show was given the model: it may have called eval()",
        ),
    )

    examples += (
        Valid(
            "import torch\nimport torch.nn as nn\n\n\ndef predict(x, samples=20):\n"
            "    model = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.2), nn.Linear(16, 1))\n"
            "    model.load_state_dict(torch.load('m.pt'))\n    model.train()  # Monte Carlo dropout\n"
            "    with torch.no_grad():\n        outs = torch.stack([model(x) for _ in range(samples)])\n"
            "    return outs.mean(0), outs.std(0)\n",
            "train() right before the no_grad passes, with no training step between: dropout kept on on purpose",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\n@torch.no_grad()\ndef recalibrate(net, loader):\n"
            "    for x in loader:\n        net(x)\n\n\n"
            "def main(loader):\n    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))\n"
            "    model.train()\n    recalibrate(model, loader)\n",
            "recomputing BatchNorm's statistics (as swa_utils.update_bn does): the caller switched to train() for it",
        ),
    )

    examples += (
        Invalid(
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Net(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n        self.fc1 = nn.Linear(784, 128)\n"
            "        self.dropout = nn.Dropout(0.5)\n        self.fc2 = nn.Linear(128, 10)\n\n"
            "    def forward(self, x):\n        return self.fc2(self.dropout(F.relu(self.fc1(x))))\n\n\n"
            "def train(model, loader, optimizer):\n    model.train()\n    for x, y in loader:\n"
            "        optimizer.zero_grad()\n        F.cross_entropy(model(x), y).backward()\n"
            "        optimizer.step()\n\n\n"
            "def test(model, loader):\n    correct = 0\n    with torch.no_grad():\n        for x, y in loader:\n"
            "            correct += (model(x).argmax(1) == y).sum().item()\n    return correct\n\n\n"
            "def main(train_loader, test_loader):\n    model = Net()\n"
            "    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n    for epoch in range(10):\n"
            "        train(model, train_loader, optimizer)\n        print(test(model, test_loader))\n",
            None,
            "the training helper leaves the model in training mode, and the test helper never calls eval()",
        ),
    )

    scenarios = (Scenario("batchnorm-dropout-validation-without-eval", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        steps = TrainingSteps.of(model)
        layers = ModeLayers(model)
        reported: set[tuple[int, str]] = set()
        for function in _with_regions(model):
            # Only a forward under no_grad is reported: a function without a call that may be one (a no_grad
            # block that copies weights, say) needs no events, which infer what every call of it calls.
            if not any(_region(model, call) is not None and steps.may_be_forward(call)
                       for call in steps.own_calls(function)):
                continue
            for event in steps.events(function):
                if event.kind != "forward" or model.grad_enabled(event.call) is not False:
                    continue
                if (model.function(event.call) or model.tree) is not function:
                    continue  # a script's events hold its functions' too: each call is read in its own function
                region = _region(model, event.call)
                owner = steps.canonical(event.target)
                if region is None or owner is None or (id(region), owner) in reported:
                    continue
                if _in_training_loop(model, steps, event):
                    continue
                mode = steps.mode_before(event.statement, owner)
                if mode == "train" and _deliberate(model, steps, function, owner, event.call):
                    continue
                fixable = mode == "train" and isinstance(region, (ast.With, ast.AsyncWith))
                if mode == "start":
                    mode = _mode_from_callers(model, steps, model.function(event.call), owner, 0)
                if mode != "train":
                    continue
                evidence = layers.of(event.target)
                if evidence is None:
                    continue
                reported.add((id(region), owner))
                shown = model.source(event.target)
                how = "with " + model.source(_disabling(model, region)) if isinstance(
                    region, (ast.With, ast.AsyncWith)) else "@" + model.source(_disabling(model, region))
                self.report(
                    event.call,
                    f"`{shown}` runs in training mode under `{how}` ({evidence}): dropout still drops and BatchNorm "
                    f"normalises with the batch and moves its running statistics; call `{shown}.eval()` first",
                    fix=Applicability.UNSAFE if fixable and dotted(event.target) else None,
                    data=(model.range(region), dotted(event.target), _training_continues(model, steps, region)),
                )

    def fix(self, finding, tree) -> Fix | None:
        where, name, restore = finding.data
        block = tree.node_at(where, cst.With)
        if block is None:
            return None
        before = cst.parse_statement(f"{name}.eval()\n").with_changes(leading_lines=block.leading_lines)
        statements = [before, block.with_changes(leading_lines=())]
        if restore:
            statements.append(cst.parse_statement(f"{name}.train()\n"))
        return Fix((Edit(block, cst.FlattenSentinel(statements)),), Applicability.UNSAFE, Effect.REPAIRING)


def _with_regions(model: SemanticModel) -> list[ast.AST]:
    """The functions (or the script) that hold a `no_grad`/`inference_mode` block or are decorated with one: only
    their training steps are asked for, since a file's other functions cannot evaluate under no_grad."""
    found: dict[int, ast.AST] = {}
    for block in model.nodes(ast.With, ast.AsyncWith):
        if any(model.disables_grad(item.context_expr) for item in block.items):
            function = model.function(block) or model.tree
            found.setdefault(id(function), function)
    for function in model.nodes(*FUNCTIONS):
        if any(model.disables_grad(d) for d in getattr(function, "decorator_list", ())):
            found.setdefault(id(function), function)
    return list(found.values())


def _disabling(model: SemanticModel, region: ast.AST) -> ast.AST:
    """What turns autograd off in a region: the `with` item, or the decorator."""
    if isinstance(region, (ast.With, ast.AsyncWith)):
        return next(i.context_expr for i in region.items if model.disables_grad(i.context_expr))
    return next(d for d in region.decorator_list if model.disables_grad(d))


def _region(model: SemanticModel, call: ast.Call) -> ast.AST | None:
    """The innermost `with no_grad()` block around the call, or the function decorated with one."""
    for ancestor in model.ancestors(call):
        if isinstance(ancestor, (ast.With, ast.AsyncWith)) and any(
                model.disables_grad(item.context_expr) for item in ancestor.items):
            return ancestor
        if isinstance(ancestor, FUNCTIONS):
            return ancestor if any(model.disables_grad(d) for d in ancestor.decorator_list) else None
        if isinstance(ancestor, ast.Lambda):
            return None
    return None


def _in_training_loop(model: SemanticModel, steps: TrainingSteps, event) -> bool:
    """The forward is part of a training step: the innermost loop around it in its function trains in its own
    iterations (a backward(), an optimizer step, or a call of a helper of the file that runs backward(), not
    inside a loop nested in it: an epoch loop whose batches train in an inner loop evaluates between them)."""
    if not event.loops:
        return False
    loop = event.loops[0]
    function = model.function(event.call) or model.tree
    if any(e.kind in _TRAINING and e.loops and e.loops[0] is loop for e in steps.events(function)):
        return True
    stack = list(loop.body)
    while stack:
        statement = stack.pop()
        if isinstance(statement, (ast.For, ast.AsyncFor, ast.While, *FUNCTIONS, ast.ClassDef)):
            continue
        if steps.calls_backward_helper(statement):
            return True
        stack.extend(n for n in ast.iter_child_nodes(statement) if isinstance(n, ast.stmt))
    return False


def _deliberate(model: SemanticModel, steps: TrainingSteps, function: ast.AST, owner: str, at: ast.AST) -> bool:
    """The last `train()` of the module before `at` in the function is followed by no training step before it: the
    code put the model in training mode to run it under no_grad (Monte Carlo dropout, recomputing BatchNorm's
    statistics as `torch.optim.swa_utils.update_bn` does), not to train it."""
    events = [e for e in steps.events(function) if (model.function(e.call) or model.tree) is function]
    position = (at.lineno, at.col_offset)
    switches = [e for e in events if e.kind == "train" and (e.call.lineno, e.call.col_offset) < position
                and (name := steps.canonical(e.target)) is not None and name.split(".")[0] == owner.split(".")[0]]
    if not switches:
        return False
    last = (switches[-1].call.lineno, switches[-1].call.col_offset)
    return not any(e.kind in _TRAINING and last < (e.call.lineno, e.call.col_offset) < position for e in events)


def _training_continues(model: SemanticModel, steps: TrainingSteps, region: ast.AST) -> bool:
    """After the `with` block, the function trains again: a training step later in it, or in a loop around it."""
    function = model.function(region) or model.tree
    for event in steps.events(function):
        if event.kind in _TRAINING and (event.call.lineno > region.end_lineno
                                        or any(model.is_inside(region, loop) for loop in event.loops)):
            return True
    return False


def _mode_from_callers(model: SemanticModel, steps: TrainingSteps, function: ast.AST | None, owner: str,
                       depth: int) -> str | None:
    """"train" when every call of `function` in the file passes the module `owner` names in training mode (and
    there is one); None otherwise (a caller not known, a mode not known, or eval mode)."""
    if not isinstance(function, FUNCTIONS) or depth >= _DEPTH:
        return None
    sites = model.call_sites.of(function)
    if not sites:
        return None
    root, _, rest = owner.partition(".")
    positional = [a.arg for a in function.args.posonlyargs + function.args.args]
    scope = model.scope_of_definition(function)
    for site in sites:
        call = site.call
        if call is None or site.given is not None or site.element_of is not None:
            return None
        statement = model.statement(call)
        outer = _spelt_at_caller(model, steps, function, call, site.offset, positional, root, scope)
        if outer is None or statement is None:
            return None
        outer_owner = outer + ("." + rest if rest else "")
        mode = steps.mode_before(statement, outer_owner)
        if mode == "train" and _deliberate(model, steps, model.function(call) or model.tree, outer_owner, call):
            return None
        if mode == "start":
            mode = _mode_from_callers(model, steps, model.function(call), outer_owner, depth + 1)
        if mode != "train":
            return None
    return "train"


def _spelt_at_caller(model, steps, function, call, offset, positional, root, scope) -> str | None:
    """How the caller names the module whose name starts with `root` inside `function`."""
    if positional and root == positional[0] and offset == 1:  # `self` (or `obj` in `obj.method()`)
        return steps.canonical(call.func.value) if isinstance(call.func, ast.Attribute) else None
    if root in positional:
        index = positional.index(root) - offset
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            return None
        if 0 <= index < len(call.args):
            return steps.canonical(call.args[index])
        given = next((k.value for k in call.keywords if k.arg == root), None)
        return steps.canonical(given) if given is not None else None
    if scope is not None and root in scope.bindings:
        return None  # a local of the function (or a parameter it rebinds) that the walk did not find
    # A module-level name: the caller must see the same one (not a local of its own with that name).
    caller = model.function(call)
    caller_scope = model.scope_of_definition(caller) if caller is not None else None
    if caller is not None and (caller_scope is None or root in caller_scope.bindings):
        return None
    return root
