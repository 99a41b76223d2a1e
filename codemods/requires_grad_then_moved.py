"""GF503: `torch.randn(..., requires_grad=True).to(device)`: the moved copy is not a leaf and gets no `.grad`."""
from __future__ import annotations

import ast
import re

from autofix.lazy import libcst as cst
from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import SemanticModel, is_true, keyword
from codemods._gf5 import (
    GRAD_FACTORIES, binds, chain_at, created_as, moved_chains, moves_nothing, optimized_tensors, optimizer_calls,
    torch_factory,
)
from codemods._torch import replay_movers, without_argument

_SCENARIO = """\
import os

import torch
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)

# Linear regression in double precision with hand-made weights.
x = torch.randn(64, 8, generator=g, dtype=torch.float64).to(device)
y = x.sum(dim=1, keepdim=True)
W = torch.randn(8, 1, generator=g, requires_grad=True).double().to(device)
b = torch.zeros(1, requires_grad=True).double().to(device)
optimizer = torch.optim.SGD([W, b], lr=0.05)
for step in range(10):
    optimizer.zero_grad()
    loss = F.mse_loss(x @ W + b, y)
    loss.backward()
    optimizer.step()
"""


class RequiresGradThenMoved(Rule):
    """
    ## What it does
    Finds a tensor created with `requires_grad=True` and then moved or cast
    (`torch.randn(n, requires_grad=True).to(device)`, `.cuda()`, `.double()`, `.half()`) where the file
    shows that the result was meant to be a leaf: it is given to an optimizer, its `.grad` is read, or it is
    stored on a module (`self.w = ...`). The move may be a statement of its own (`x = torch.tensor(...,
    requires_grad=True)`, then `x = x.to(device)`): moving the name is the same move (reported without an
    automatic fix).

    ## Why is this bad?
    `requires_grad=True` makes the factory's result a leaf that wants gradients; the move then returns a
    new tensor computed from it, which is not a leaf (autograd fact "factory(..., requires_grad=True).to(...)
    yields a non-leaf"). The variable holds the copy, so after `backward()` its `.grad` stays `None`
    (PyTorch warns "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed"), and
    `torch.optim.SGD([w])` raises "can't optimize a non-leaf Tensor". On the CPU `.to("cpu")` returns the
    tensor itself, so the bug appears only on the GPU, or with a dtype change.

    ## Example
    ```python
    w = torch.randn(784, 10, requires_grad=True).to(device)
    ```

    ## Use instead
    ```python
    w = torch.randn(784, 10).to(device).requires_grad_()
    ```

    ## Runtime
    Raises "can't optimize a non-leaf Tensor" when given to an optimizer; otherwise silent: `.grad` is
    `None` and a hand-written update fails or trains nothing.

    ## Fix safety
    Safe and repairing: `requires_grad` moves after the last move, so the variable holds a leaf. The fix
    keeps the factory call as written rather than passing `device=` to it: a CUDA tensor drawn on the
    device uses the device's own random generator, so seeded runs would draw different numbers.

    Not reported: a move that provably returns the tensor itself (checked on torch 2.13: `.float()` of a
    float32 factory result, `.cpu()` of one made on the CPU, `.to(dtype)` to the dtype it already has), and
    a copy that the file only computes with (returned, or passed on): used as the input of a graph, a
    non-leaf is what the author wants.
    """

    code = "GF503"
    name = "requires-grad-then-moved"
    message = "`requires_grad=True` then a move leaves a non-leaf copy without `.grad`: set requires_grad after the move"
    runtime = "raises \"can't optimize a non-leaf Tensor\" in an optimizer; otherwise silent (.grad stays None)"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"requires_grad\s*=\s*True")

    examples = (
        Invalid(
            "import torch\nw = torch.randn(784, 10, requires_grad=True).to(device)\nopt = torch.optim.SGD([w], lr=0.1)\n",
            "import torch\nw = torch.randn(784, 10).to(device).requires_grad_()\nopt = torch.optim.SGD([w], lr=0.1)\n",
            "the common MNIST-from-scratch shape",
        ),
        Invalid(
            "import torch\nb = torch.zeros(10, requires_grad=True, dtype=torch.float32).cuda().half()\n"
            "loss(b).backward()\nprint(b.grad)\n",
            "import torch\nb = torch.zeros(10, dtype=torch.float32).cuda().half().requires_grad_()\n"
            "loss(b).backward()\nprint(b.grad)\n",
            "a chain of moves: requires_grad goes after the last one",
        ),
        Invalid(
            "import torch\nopt = torch.optim.SGD([torch.tensor([1.0], requires_grad=True).cuda()], lr=0.1)\n",
            "import torch\nopt = torch.optim.SGD([torch.tensor([1.0]).cuda().requires_grad_()], lr=0.1)\n",
            "inside an optimizer's list",
        ),
        Valid("import torch\nw = torch.randn(3, device=device, requires_grad=True)\n", "created on the device"),
        Valid("import torch\nw = torch.randn(3).to(device).requires_grad_()\n", "requires_grad set after the move"),
        Valid("import torch\nx = torch.randn(3, requires_grad=flag).to(device)\n", "not literally True"),
        Valid("import torch.nn as nn\nw = nn.Parameter(t, requires_grad=True).to(device)\n", "a Parameter: GF502's"),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass Prompt(nn.Module):\n    def __init__(self, n, device):\n"
            "        super().__init__()\n        self.tokens = torch.randn(n, 16, requires_grad=True).to(device)\n",
            "import torch\nimport torch.nn as nn\n\n\nclass Prompt(nn.Module):\n    def __init__(self, n, device):\n"
            "        super().__init__()\n        self.tokens = torch.randn(n, 16).to(device).requires_grad_()\n",
            "stored on a module",
        ),
        Valid(
            "import torch\n\n\ndef initial_guess(n, like):\n"
            "    return torch.zeros(n, 4, requires_grad=True, device=like.device).float()\n",
            "`.float()` of a float32 tensor returns the same leaf",
        ),
        Valid(
            "import torch\n\n\ndef start(n, device):\n    y = torch.zeros(n, requires_grad=True).to(device)\n"
            "    return refine(y)\n",
            "nothing in the file needs the copy to be a leaf: it is used only as an input to a graph",
        ),
        Valid(
            "import torch\nw = torch.zeros(3, requires_grad=True).cpu()\nopt = torch.optim.SGD([w], lr=0.1)\n",
            "`.cpu()` of a tensor made on the CPU returns the same leaf",
        ),
        Invalid(
            "import torch\n\ntheta = torch.full((5,), 0.5, requires_grad=True)\ntheta = theta.double()\n"
            "(theta ** 3).sum().backward()\nstep = theta.grad\n",
            None,
            "the name is moved in a statement of its own: it holds the non-leaf copy",
        ),
        Valid(
            "import torch\n\ntheta = torch.full((5,), 0.5, requires_grad=True)\ntheta64 = theta.double()\n"
            "(theta64 ** 3).sum().backward()\nstep = theta.grad\n",
            "the copy has a name of its own, and the gradient is read from the leaf",
        ),
    )

    scenarios = (Scenario("double-linear-regression", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        optimized: set[int] | None = None
        for chain, base, moves in moved_chains(model):
            factory = _leaf_factory(model, base, chain)
            if factory is None:
                continue
            if moves_nothing(model, moves, *created_as(model, factory)):
                continue  # `.float()` of a float32 leaf is the leaf itself
            if optimized is None:
                optimized = {id(t) for o in optimizer_calls(model) for t in optimized_tensors(model, o)}
            harm = _harm(model, chain, optimized)
            if harm is None:
                continue  # nothing in this file needs the copy to be a leaf
            self.report(
                chain,
                f"`requires_grad=True` then `.{moves[0].func.attr}()` leaves a non-leaf copy, and {harm}: "
                "set requires_grad after the move",
                fix=Applicability.SAFE if factory is base else None,
            )

    def fix(self, finding, tree) -> Fix | None:
        found = chain_at(finding, tree)
        if found is None:
            return None
        node, base, moves = found
        moved = replay_movers(without_argument(base, "requires_grad"), moves)
        fixed = cst.Call(func=cst.Attribute(moved, cst.Name("requires_grad_")))
        return Fix((Edit(node, fixed),), Applicability.SAFE, Effect.REPAIRING)


def _leaf_factory(model: SemanticModel, base: ast.AST, chain: ast.Call) -> ast.Call | None:
    """The factory call `torch.f(..., requires_grad=True)` whose result `base` is: the call itself, or a name
    that only such a call binds where it is moved (`x = torch.tensor(..., requires_grad=True)` then, in a
    separate statement, `x = x.to(device)`: the move of a name is the same move as in one chain)."""
    if isinstance(base, ast.Name):
        # The rebinding this move makes (`x = x.to(device)`) moves a tensor it bound itself only in a loop,
        # and then what it moves is already the non-leaf copy: the factory's binding is the one that counts.
        bindings = [b for b in model.bindings_reaching(base.id, base) or () if b.value is not chain]
        if len(bindings) != 1 or bindings[0].kind != "assign":
            return None
        base = bindings[0].value
    if torch_factory(model, base) not in GRAD_FACTORIES or not is_true(keyword(base, "requires_grad")):
        return None
    return base


def _harm(model: SemanticModel, chain: ast.Call, optimized: set[int]) -> str | None:
    """Where the file shows that the moved copy was meant to be a leaf: it is given to an optimizer, its
    `.grad` is read, or it is stored on a module. None when the file shows none of these."""
    if id(chain) in optimized:
        return "the optimizer raises \"can't optimize a non-leaf Tensor\""
    statement = model.parent(chain)
    if not isinstance(statement, (ast.Assign, ast.AnnAssign)) or statement.value is not chain:
        return None
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    if any(_module_attribute(model, t) for t in targets):
        return "the module stores a tensor that is not a leaf"
    names = {t.id for t in targets if isinstance(t, ast.Name)}
    if not names:
        return None
    for node in model.nodes(ast.Name):
        if node.id not in names or not isinstance(node.ctx, ast.Load) or not binds(model, node, chain):
            continue
        parent = model.parent(node)
        if id(node) in optimized:
            return "the optimizer raises \"can't optimize a non-leaf Tensor\""
        if isinstance(parent, ast.Attribute) and parent.attr == "grad" and isinstance(parent.ctx, ast.Load):
            return f"`{node.id}.grad` stays None (line {parent.lineno})"
        if isinstance(parent, ast.Assign) and parent.value is node and any(
            _module_attribute(model, t) for t in parent.targets
        ):
            return "the module stores a tensor that is not a leaf"
    return None


def _module_attribute(model: SemanticModel, target: ast.AST) -> bool:
    """`self.x` as an assignment target in a method of a module class (one that derives from nn.Module in
    this file's view, or that defines `forward`)."""
    if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)):
        return False
    function = model.function(target)
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    arguments = function.args.posonlyargs + function.args.args
    cls = model.enclosing_class(function)
    if cls is None or not arguments or arguments[0].arg != target.value.id:
        return False
    return model.is_module_class_def(cls) or any(
        isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == "forward" for s in cls.body
    )
