"""GF507: an optimizer over `model.parameters()` after the whole `model` was frozen in the same function."""
from __future__ import annotations

import re

import libcst as cst

from autofix.rule import Applicability, Invalid, Rule, Valid
from codemods._torch import Imports, dotted, is_optimizer_class, scope_chain

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
    )

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._frozen: dict[int, dict[str, int]] = {}  # scope -> frozen module -> line it was frozen on

    def _scope_state(self, node: cst.CSTNode) -> dict[str, int]:
        return self._frozen.setdefault(id(scope_chain(node, self.parent)[0]), {})

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "requires_grad_":
            state = self._scope_state(node)
            if _is_false_call(node):
                owner = dotted(func.value)
                if owner and self._unconditional(node):
                    state[owner] = self.position(node).start.line
            else:
                state.clear()  # something is unfrozen: stay out of it
            return
        chain = scope_chain(node, self.parent)
        qualified = Imports.of(self._module, self.context.cache).resolve(func, chain) or ""
        if not is_optimizer_class(qualified) or not node.args:
            return
        params = node.args[0].value
        if not (isinstance(params, cst.Call) and isinstance(params.func, cst.Attribute)
                and params.func.attr.value in _PARAMETER_LISTS and not params.args):
            return
        owner = dotted(params.func.value)
        line = self._scope_state(node).get(owner or "")
        if line is not None:
            self.report(node, f"every parameter of `{owner}` was frozen on line {line}: this optimizer has nothing to train")

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        target = node.target
        if isinstance(target, cst.Attribute) and target.attr.value == "requires_grad":
            assign = self.parent(node)
            if not (isinstance(assign, cst.Assign) and _is_false(assign.value)):
                self._scope_state(node).clear()

    def visit_For(self, node: cst.For) -> None:
        """`for p in model.parameters(): p.requires_grad = False` (unconditionally, at the top of the body)."""
        it = node.iter
        if not (isinstance(it, cst.Call) and isinstance(it.func, cst.Attribute) and it.func.attr.value in _PARAMETER_LISTS):
            return
        target = node.target
        if isinstance(target, cst.Tuple) and target.elements:
            target = target.elements[-1].value
        if not isinstance(target, cst.Name) or not self._unconditional(node):
            return
        for statement in node.body.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if _freezes(small, target.value):
                    owner = dotted(it.func.value)
                    if owner:
                        self._scope_state(node)[owner] = self.position(node).start.line
                    return

    def _unconditional(self, node: cst.CSTNode) -> bool:
        """Not inside an `if`, `try` or loop of its own scope (a `with` block is fine)."""
        current = self.parent(node)
        while current is not None and not isinstance(current, (cst.FunctionDef, cst.Module)):
            if isinstance(current, (cst.If, cst.Try, cst.While, cst.IfExp)) or (
                isinstance(current, cst.For) and current is not node
            ):
                return False
            current = self.parent(current)
        return True


def _is_false(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "False"


def _is_false_call(call: cst.Call) -> bool:
    return len(call.args) == 1 and _is_false(call.args[0].value)


def _freezes(small: cst.BaseSmallStatement, name: str) -> bool:
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        return dotted(target) == f"{name}.requires_grad" and _is_false(small.value)
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        return dotted(small.value.func) == f"{name}.requires_grad_" and _is_false_call(small.value)
    return False
