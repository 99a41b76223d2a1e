"""GF404: a training loop that never clears gradients."""
from __future__ import annotations

import re

import libcst as cst

from autofix.rule import Applicability, Invalid, Rule, Valid
from codemods._steps import Bindings, backward_kind, contains, manual_update, optimizer_step
from codemods._torch import source_of

_CLEARS_GRADIENTS = re.compile(
    r"zero_grad|\.grad\s*=\s*None|\.grad\.zero_\(|\.grad\.detach_\(|set_to_none|zero_grads|clear_grad|reset_grad"
)


class MissingZeroGrad(Rule):
    """
    ## What it does
    Finds a loop that calls `backward()` and updates the parameters every iteration, in a function (or
    script) that never clears gradients: no `zero_grad()`, no `p.grad = None`, no `p.grad.zero_()`.

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
    None: accumulating on purpose is legitimate, and where to clear depends on the accumulation scheme.
    A function that clears gradients anywhere, or calls a helper named like `zero_grads`, is not reported.
    Loops without an update (OOM probes, benchmarks) are not reported.
    """

    code = "GF404"
    name = "missing-zero-grad"
    message = "backward() and step() every iteration, but gradients are never cleared: they accumulate"
    runtime = "silent: gradients accumulate across iterations"
    fix_applicability = Applicability.NONE
    fix_effect = None
    prefilter = re.compile(r"backward\(")

    examples = (
        Invalid(
            "def train(model, loader, optimizer, criterion):\n    for x, y in loader:\n"
            "        loss = criterion(model(x), y)\n        loss.backward()\n        optimizer.step()\n",
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
    )

    def visit_Module(self, node: cst.Module) -> None:
        self.bindings = Bindings.of(node, self.context.cache)
        self._scopes_clear: dict[int, bool] = {}

    def visit_For(self, node: cst.For) -> None:
        self._check(node)

    def visit_While(self, node: cst.While) -> None:
        self._check(node)

    def _check(self, loop) -> None:
        if not contains(loop, lambda s: backward_kind(s) == "plain"):
            return
        if not contains(loop, lambda s: optimizer_step(s, self.bindings) is not None or manual_update(s)):
            return
        scope = self._scope(loop)
        if id(scope) not in self._scopes_clear:
            self._scopes_clear[id(scope)] = bool(_CLEARS_GRADIENTS.search(source_of(scope)))
        if self._scopes_clear[id(scope)] or self._inside_reported_loop(loop):
            return
        self.report(loop)

    def _scope(self, node):
        current = self.parent(node)
        while current is not None and not isinstance(current, (cst.FunctionDef, cst.Module)):
            current = self.parent(current)
        return current

    def _inside_reported_loop(self, loop) -> bool:
        """Report the outermost loop only (an epoch loop and its batch loop are one training loop)."""
        current = self.parent(loop)
        while current is not None and not isinstance(current, (cst.FunctionDef, cst.Module)):
            if isinstance(current, (cst.For, cst.While)):
                return True
            current = self.parent(current)
        return False
