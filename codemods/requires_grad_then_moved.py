"""GF503: `torch.randn(..., requires_grad=True).to(device)`: the moved copy is not a leaf and gets no `.grad`."""
from __future__ import annotations

import re

import libcst as cst

from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from codemods._torch import (
    LEAF_MAKERS, PARAMETER_CLASS, moved_call, replay_movers, requests_grad, without_argument,
)

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
    Finds a tensor created with `requires_grad=True` and then moved or cast:
    `torch.randn(n, requires_grad=True).to(device)`, `.cuda()`, `.double()`, `.half()`.

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
            "import torch\nw = torch.randn(784, 10, requires_grad=True).to(device)\n",
            "import torch\nw = torch.randn(784, 10).to(device).requires_grad_()\n",
            "the common MNIST-from-scratch shape",
        ),
        Invalid(
            "import torch\nb = torch.zeros(10, requires_grad=True, dtype=torch.float32).cuda().half()\n",
            "import torch\nb = torch.zeros(10, dtype=torch.float32).cuda().half().requires_grad_()\n",
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
    )

    scenarios = (Scenario("double-linear-regression", _SCENARIO),)

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node

    def visit_Call(self, node: cst.Call) -> None:
        chain = moved_call(node, self.parent, self._module, self.context.cache)
        if chain is None or not requests_grad(chain[0]):
            return
        base, movers, qualified = chain
        if not LEAF_MAKERS.match(qualified) or PARAMETER_CLASS.match(qualified):
            return
        moved = replay_movers(without_argument(base, "requires_grad"), movers)
        fixed = cst.Call(func=cst.Attribute(moved, cst.Name("requires_grad_")))
        fix = Fix((Edit(node, fixed),), Applicability.SAFE, Effect.REPAIRING)
        self.report(node, f"`requires_grad=True` then `.{movers[0].func.attr.value}()` leaves a non-leaf copy without `.grad`: set requires_grad after the move", fix)
