"""GF506: an optimizer given a tensor that is not a leaf (`SGD([x[:, 0]])`, `Adam([w.cuda()])`)."""
from __future__ import annotations

import ast
import re

from autofix.rule import Applicability, Invalid, Rule, Valid
from autofix.semantic import Grad, Kind, SemanticModel, is_true, keyword
from codemods._gf5 import created_as, is_move, moves_nothing, optimized_tensors, optimizer_calls, torch_factory


class OptimizerOverNonLeaf(Rule):
    """
    ## What it does
    Finds an optimizer constructed over a tensor computed from a trainable one: a slice (`x[:, 0]`), a move
    (`w.cuda()`, `w.to(device)`), a view or arithmetic (`w.t()`, `w * 2`), written in the list or bound to
    a name just before.

    ## Why is this bad?
    Optimizers update leaves: the constructor raises `ValueError: can't optimize a non-leaf Tensor`
    (checked on torch 2.13 for `SGD([x[:, 0]])` and `SGD([w.to(torch.float64)])`). A move to the device
    the tensor is already on returns the tensor itself, so `Adam([w.cuda()])` may work on one machine and
    fail on another.

    ## Example
    ```python
    x = torch.randn(10, 3, requires_grad=True)
    opt = torch.optim.SGD([x[:, 0]], lr=0.1)
    ```

    ## Use instead
    ```python
    x0 = torch.randn(10, requires_grad=True)   # the trainable part as its own leaf
    opt = torch.optim.SGD([x0], lr=0.1)
    ```

    ## Runtime
    Raises "can't optimize a non-leaf Tensor" when the optimizer is built (on the GPU, for moves).

    ## Fix safety
    Reported only where the semantic model knows the tensor was computed, with autograd on, from one that
    requires grad; a move that provably returns the tensor itself (`.float()` of a float32 leaf, `.cpu()`
    of a CPU one) is not reported. No fix: which leaf should be trained (the whole tensor, or a new one holding the slice) is the
    author's choice. `torch.randn(..., requires_grad=True).cuda()` written in the list is GF503's, which
    fixes it.
    """

    code = "GF506"
    name = "optimizer-over-non-leaf"
    message = "an optimizer over a tensor that is not a leaf: it raises \"can't optimize a non-leaf Tensor\""
    runtime = "raises ValueError: can't optimize a non-leaf Tensor"
    fix_applicability = Applicability.NONE
    fix_effect = None
    prefilter = re.compile(r"optim")  # the rule resolves torch.optim.*, so the file names it

    examples = (
        Invalid(
            "import torch\nx = torch.randn(10, 3, requires_grad=True)\nopt = torch.optim.SGD([x[:, 0]], lr=0.1)\n",
            reason="a slice",
        ),
        Invalid(
            "import torch\nw = torch.randn(3, requires_grad=True)\nopt = torch.optim.Adam([w.cuda()], lr=1e-3)\n",
            reason="a move",
        ),
        Invalid(
            "import torch\nw = torch.randn(3, 4, requires_grad=True)\nw_t = w.t()\n"
            "opt = torch.optim.SGD([{'params': [w_t]}], lr=0.1)\n",
            reason="a view bound to a name, in a parameter group",
        ),
        Valid("import torch\nw = torch.randn(3, requires_grad=True)\nopt = torch.optim.SGD([w], lr=0.1)\n", "a leaf"),
        Valid("import torch\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n", "a module's parameters"),
        Valid("import torch\nx = torch.randn(10, 3)\nopt = torch.optim.SGD([x[:, 0]], lr=0.1)\n",
              "`x` does not require grad: the slice is a leaf (and trains nothing, but that is not this rule)"),
        Valid("import torch\nopt = torch.optim.SGD([torch.randn(3, requires_grad=True).cuda()], lr=0.1)\n",
              "GF503 fixes this one"),
        Invalid(
            "import torch\nimport torch.nn as nn\nlayer = nn.Linear(4, 4)\nopt = torch.optim.Adam([layer.weight.t()])\n",
            reason="a view of a known layer's weight",
        ),
        Valid(
            "import torch\nw = torch.zeros(3, requires_grad=True)\nopt = torch.optim.SGD([w.float()], lr=0.1)\n",
            "`.float()` of a float32 leaf is the leaf itself",
        ),
        Valid(
            "import torch\nopt = torch.optim.SGD([cfg.weight.cuda()], lr=0.1)\n",
            "what `cfg.weight` holds is unknown: the file does not show it requires grad",
        ),
        Valid(
            "import torch\nw = torch.randn(3, requires_grad=True)\nopt = torch.optim.SGD([w.detach()], lr=0.1)\n",
            "a detached tensor is a leaf (that trains nothing, but the optimizer accepts it)",
        ),
    )

    def check(self, model: SemanticModel) -> None:
        for optimizer in optimizer_calls(model):
            for element in optimized_tensors(model, optimizer):
                made, where = element, ""
                if isinstance(element, ast.Name):
                    bindings = model.bindings_reaching(element.id, element) or []
                    if len(bindings) == 1 and bindings[0].kind == "assign" and not bindings[0].path:
                        made = bindings[0].value
                        where = f" (made on line {bindings[0].node.lineno})"
                if _non_leaf(model, element, made):
                    self.report(
                        element,
                        f"`{model.source(element)}`{where} is not a leaf tensor: the optimizer raises "
                        "\"can't optimize a non-leaf Tensor\"",
                    )


def _non_leaf(model: SemanticModel, element: ast.AST, made: ast.AST) -> bool:
    """The model knows `element` is a tensor computed (with autograd on) from one that requires grad."""
    value = model.value(element)
    if value.kind is not Kind.TENSOR or value.grad is not Grad.CONNECTED:
        return False
    if is_move(made):
        base = made
        moves = []
        while is_move(base):
            moves.append(base)
            base = base.func.value
        moves.reverse()
        if torch_factory(model, base) is not None and is_true(keyword(base, "requires_grad")):
            return False  # `torch.randn(..., requires_grad=True).cuda()`: GF503 reports and fixes it
        factory = base
        if isinstance(base, ast.Name):
            bindings = model.bindings_reaching(base.id, base) or []
            factory = bindings[0].value if len(bindings) == 1 and bindings[0].kind == "assign" else None
        if moves_nothing(model, moves, *created_as(model, factory)):
            return False  # `w.float()` of a float32 leaf is the leaf itself
    return True
