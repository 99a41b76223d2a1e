"""GF506: an optimizer given a tensor that is not a leaf (`SGD([x[:, 0]])`, `Adam([w.cuda()])`)."""
from __future__ import annotations

import re

import libcst as cst

from autofix.rule import Applicability, Invalid, Rule, Valid
from codemods._torch import (
    LEAF_MAKERS, Imports, is_mover, is_optimizer_class, looks_like_parameter, mover_chain, requests_grad, scope_chain, source_of,
)

# Methods that return a view or a computed tensor (a non-leaf when their input requires grad).
_VIEWS = frozenset({"t", "view", "reshape", "transpose", "permute", "squeeze", "unsqueeze", "expand", "flatten",
                    "narrow", "select", "chunk", "split", "clone", "contiguous", "mul", "add", "sub", "div"})


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
    No fix: which leaf should be trained (the whole tensor, or a new one holding the slice) is the
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
    )

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._bound: dict[int, dict[str, cst.Assign]] = {}

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            scope = scope_chain(node, self.parent)[0]
            self._bound.setdefault(id(scope), {})[node.targets[0].target.value] = node

    def visit_Call(self, node: cst.Call) -> None:
        chain = scope_chain(node, self.parent)
        qualified = Imports.of(self._module, self.context.cache).resolve(node.func, chain) or ""
        if not is_optimizer_class(qualified) or not node.args:
            return
        params = node.args[0].value
        bound = self._bound.get(id(chain[0]), {})
        for element in _param_elements(params):
            where = ""
            expr = element
            if isinstance(element, cst.Name) and element.value in bound:
                expr = bound[element.value].value
                where = f" (made on line {self.position(bound[element.value]).start.line})"
            if self._non_leaf(expr, bound, node):
                self.report(element, f"`{source_of(element)}`{where} is not a leaf tensor: the optimizer raises \"can't optimize a non-leaf Tensor\"")

    def _non_leaf(self, expr: cst.BaseExpression, bound: dict, at: cst.CSTNode) -> bool:
        if isinstance(expr, cst.Subscript):
            return self._wants_grad(expr.value, bound, at)
        if is_mover(expr):
            base, _ = mover_chain(expr)
            return self._wants_grad(base, bound, at, created_here_counts=False)
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in _VIEWS:
            return self._wants_grad(expr.func.value, bound, at)
        if isinstance(expr, cst.Attribute) and expr.attr.value in ("T", "mT", "H"):
            return self._wants_grad(expr.value, bound, at)
        if isinstance(expr, cst.BinaryOperation):
            return self._wants_grad(expr.left, bound, at) or self._wants_grad(expr.right, bound, at)
        return False

    def _wants_grad(self, expr, bound: dict, at: cst.CSTNode, created_here_counts: bool = True) -> bool:
        """Does `expr` evaluate to a tensor that requires grad (by how it was made, or by its name)?"""
        if isinstance(expr, cst.Call):
            # A factory written right here: the move case is GF503's (it has a fix), the others are ours.
            qualified = Imports.of(self._module, self.context.cache).resolve(expr.func, scope_chain(at, self.parent)) or ""
            return created_here_counts and bool(LEAF_MAKERS.match(qualified)) and (
                requests_grad(expr) or qualified.endswith("Parameter")
            )
        if isinstance(expr, cst.Name) and expr.value in bound:
            made = bound[expr.value].value
            return isinstance(made, cst.Call) and (
                self._wants_grad(made, bound, at)
                or (isinstance(made.func, cst.Attribute) and made.func.attr.value == "requires_grad_")
            )
        return isinstance(expr, cst.Attribute) and looks_like_parameter(expr, at, self.parent)


def _param_elements(params: cst.BaseExpression):
    """The tensors listed in an optimizer's first argument: `[a, b]`, `(a,)`, `[{'params': [a]}, ...]`."""
    if not isinstance(params, (cst.List, cst.Tuple)):
        return
    for element in params.elements:
        if isinstance(element, cst.StarredElement):
            continue
        value = element.value
        if isinstance(value, cst.Dict):
            for entry in value.elements:
                if isinstance(entry, cst.DictElement) and isinstance(entry.key, cst.SimpleString) \
                        and entry.key.evaluated_value == "params":
                    yield from _param_elements(entry.value)
        else:
            yield value
