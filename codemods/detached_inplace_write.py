"""GF101: in-place writes to a parameter through `.detach()` or `.data`."""
from __future__ import annotations

import re

import libcst as cst

from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from codemods._torch import (
    Imports, looks_like_parameter, no_grad_block, runs_backward, scope_chain, under_no_grad,
)

# In-place methods that are not writes to the tensor's values.
_NOT_WRITES = frozenset({"requires_grad_", "share_memory_", "retain_grad", "record_stream"})
# Deprecated positional overloads still accepted (with a warning) by torch 2.13: `add_(alpha, other)`.
_SCALAR_FIRST = {"add_": ("alpha", 2), "sub_": ("alpha", 2), "addcmul_": ("value", 3), "addcdiv_": ("value", 3)}


_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(16, 32)
        self.head = nn.Linear(32, 4)
        self.hidden.weight.data.normal_(0.0, 0.2)
        self.hidden.bias.data.fill_(0.01)
        self.head.weight.detach().uniform_(-0.1, 0.1)
        self.head.bias.detach().zero_()

    def forward(self, x):
        return self.head(F.relu(self.hidden(x)))


def sgd(model, lr):
    for p in model.parameters():
        p.data.add_(-lr, p.grad.data)
        p.grad = None


model = MLP().to(device)
x = torch.randn(64, 16, generator=g).to(device)
y = torch.randint(0, 4, (64,), generator=g).to(device)
for step in range(6):
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    sgd(model, lr=0.5)
"""

class DetachedInplaceWrite(Rule):
    """
    ## What it does
    Finds in-place writes to a tensor through an alias that autograd does not track:
    `param.detach().zero_()`, `m.weight.data.normal_(0.0, 0.02)`, `m.bias.data.fill_(0)`,
    `emb.weight.data[pad_idx].zero_()`, `p.data.add_(-lr, p.grad.data)`, `w.data[i] = v`, `w.data -= v`.

    ## Why is this bad?
    Not for the reason usually given. `.detach()` and `.data` share storage with the parameter, so the
    write lands in the parameter, which stays a trainable leaf: gradients keep flowing (autograd fact
    "detach().zero_() zeroes the parameter in place and gradients still flow"). At initialisation the
    old code works.

    The problem is what the alias hides. A write through `.data` does not bump autograd's version
    counter (fact ".data writes bypass the version counter"), so when such a write happens between a
    forward pass and its `backward()`, autograd silently computes gradients from overwritten values
    instead of raising "one of the variables needed for gradient computation has been modified by an
    inplace operation". `torch.no_grad()` is the documented way to write to a parameter: it states the
    intent and keeps autograd's checks on. `.data` is a legacy API that the PyTorch docs discourage.

    ## Example
    ```python
    self.linear.weight.detach().zero_()
    self.linear.bias.data.fill_(0)
    for p in model.parameters():
        p.data.add_(-lr, p.grad.data)
    ```

    ## Use instead
    ```python
    with torch.no_grad():
        self.linear.weight.zero_()
        self.linear.bias.fill_(0)
    for p in model.parameters():
        with torch.no_grad():
            p.add_(p.grad, alpha=-lr)
    ```
    Consecutive writes share one `with` block; a write already under `torch.no_grad()` just loses its
    `.detach()` / `.data`. The deprecated `add_(scalar, tensor)` overload becomes
    `add_(tensor, alpha=scalar)` (likewise `sub_`, `addcmul_`, `addcdiv_` with `value=`), with the same numerics.

    `.data` is rewritten only on names that mean a tensor (`weight`, `bias`, `p`, `param`, `*_weight`,
    `running_mean`, a loop variable over `parameters()` / `group["params"]`, ...): `dataset.data` and
    `batch.data` are left alone.

    ## Runtime
    Silent: the old code trains; a `.data` write between forward and backward corrupts gradients silently.

    ## Fix safety
    Safe and behaviour-preserving where no backward pass is in sight: the same values are written to
    the same storage. In a `forward` method or a function that itself calls `backward()`, the fix is
    unsafe: if the write lands between forward and backward on a tensor autograd saved, the fixed
    code raises "modified by an inplace operation" where the old code silently computed wrong
    gradients. That is the truth surfacing, but it is a change in behaviour, so it needs `--unsafe-fixes`.
    """

    code = "GF101"
    name = "detached-inplace-write"
    message = "In-place write through `.detach()`/`.data`: write under `torch.no_grad()` instead"
    runtime = "silent: the write works, but `.data` hides it from autograd's in-place checks"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.PRESERVING
    prefilter = re.compile(r"\.(?:detach\(\)|data)\s*(?:\[|\.\w+_\s*\(|[-+*/]=)")

    examples = (
        Invalid(
            "self.linear.weight.detach().zero_()\nself.linear.bias.detach().zero_()\n",
            "import torch\nwith torch.no_grad():\n    self.linear.weight.zero_()\n    self.linear.bias.zero_()\n",
            "consecutive writes share one block; torch is imported when the file binds no name for it",
        ),
        Invalid(
            "import torch as T\n\ndef init(m):\n    m.weight.data.normal_(0.0, 0.02)\n    m.bias.data.fill_(0)\n",
            "import torch as T\n\ndef init(m):\n    with T.no_grad():\n        m.weight.normal_(0.0, 0.02)\n"
            "        m.bias.fill_(0)\n",
            "the file's alias for torch is used",
        ),
        Invalid(
            "from torch import no_grad\n\ndef init(module):\n    module.weight.data[module.padding_idx].zero_()\n",
            "from torch import no_grad\n\ndef init(module):\n    with no_grad():\n"
            "        module.weight[module.padding_idx].zero_()\n",
            "an indexed write; a directly imported no_grad is used",
        ),
        Invalid(
            "import torch\n\ndef sgd(model, lr):\n    with torch.no_grad():\n        for p in model.parameters():\n"
            "            p.data.add_(-lr, p.grad.data)\n",
            "import torch\n\ndef sgd(model, lr):\n    with torch.no_grad():\n        for p in model.parameters():\n"
            "            p.add_(p.grad, alpha=-lr)\n",
            "already under no_grad: only the alias goes; the deprecated overload is modernised",
        ),
        Invalid(
            "import torch\n\ndef step(params, lr):\n    for p in params:\n        p.data -= lr * p.grad.data  # SGD\n",
            "import torch\n\ndef step(params, lr):\n    for p in params:\n        with torch.no_grad():\n"
            "            p -= lr * p.grad  # SGD\n",
            "augmented assignment through .data",
        ),
        Invalid(
            "import torch\n\ndef reset(layer):\n    for w in layer.weights: w.data.zero_()\n",
            "import torch\n\ndef reset(layer):\n    for w in layer.weights:\n        with torch.no_grad():\n"
            "            w.zero_()\n",
            "a one-line loop body gets a real block",
        ),
        Invalid(
            "def build():\n    import torch.nn as nn\n    layer = nn.Linear(2, 2)\n    layer.bias.detach().zero_()\n"
            "    return layer\n",
            "def build():\n    import torch.nn as nn\n    import torch\n    layer = nn.Linear(2, 2)\n"
            "    with torch.no_grad():\n        layer.bias.zero_()\n    return layer\n",
            "a lazily importing function keeps importing lazily: the import goes into the function",
        ),
        Invalid(
            "import torch\n\ndef train_step(model, loss, lr):\n    loss.backward()\n    for p in model.parameters():\n"
            "        p.data.add_(p.grad, alpha=-lr)\n",
            None,
            "a backward pass is in sight: the fix could turn silent gradient corruption into an error",
            unsafe_after="import torch\n\ndef train_step(model, loss, lr):\n    loss.backward()\n"
            "    for p in model.parameters():\n        with torch.no_grad():\n            p.add_(p.grad, alpha=-lr)\n",
        ),
        Valid("import torch\nwith torch.no_grad():\n    layer.weight.zero_()\n", "already the idiom"),
        Valid("dataset.data.mul_(255)\nbatch.data[0] = 1\n", "`.data` of a dataset or batch is not a parameter"),
        Valid("torch.nn.init.zeros_(p)\n", "nn.init already writes under no_grad"),
        Valid("img = out.detach().clamp_(0, 1)\n", "the result is used: not a plain write to a parameter"),
        Valid("p.detach().requires_grad_()\n", "not a write to values (GF2xx covers detached losses)"),
        Valid("x = p.data\ny = w.detach() * 2\n", "reads, not writes"),
        Valid("m.weight.data.zero_()  # autofix: ignore[GF101]\n", "suppressed"),
    )

    scenarios = (Scenario("mlp-init-and-manual-sgd", _SCENARIO),)

    def __init__(self, context) -> None:
        super().__init__(context)
        self._module: cst.Module | None = None
        self._backward_in_scope: dict[int, bool] = {}

    # --- visiting: statements are grouped by the block that holds them ---------------------------
    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._check_block(node.body)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._check_block(node.body)

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        rewritten = [self._rewrite_small(s) for s in node.body]
        if not all(rewritten) or self.is_suppressed(node):
            return
        smalls = [new for new, _ in rewritten]
        if under_no_grad(node, self.parent):
            fix = self._fix([Edit(node, node.with_changes(body=smalls))], node, imports=())
        else:
            line = cst.SimpleStatementLine(body=smalls, trailing_whitespace=node.trailing_whitespace)
            with_node, imports = self._with_no_grad(node, [line], leading_lines=())
            fix = self._fix([Edit(node, cst.IndentedBlock(body=[with_node]))], node, imports)
        self.report(node, self._message(rewritten[0][1]), fix)

    def _check_block(self, body) -> None:
        run: list[tuple[cst.SimpleStatementLine, cst.SimpleStatementLine, str]] = []
        for statement in body:
            rewritten = self._rewrite_line(statement)
            if rewritten is not None and not self.is_suppressed(statement):
                run.append((statement, *rewritten))
                continue
            self._report_run(run)
            run = []
        self._report_run(run)

    def _report_run(self, run) -> None:
        if not run:
            return
        first = run[0][0]
        if under_no_grad(first, self.parent):
            for old, new, kind in run:
                self.report(old, self._message(kind), self._fix([Edit(old, new)], old, imports=()))
            return
        body = [new.with_changes(leading_lines=()) if i == 0 else new for i, (_, new, _) in enumerate(run)]
        with_node, imports = self._with_no_grad(first, body, leading_lines=first.leading_lines)
        edits = [Edit(first, with_node)] + [Edit(old, cst.RemovalSentinel.REMOVE) for old, _, _ in run[1:]]
        fix = self._fix(edits, first, imports)
        for old, _, kind in run:
            self.report(old, self._message(kind), fix)

    # --- building the fix ------------------------------------------------------------------------
    def _with_no_grad(self, anchor, body, leading_lines):
        return no_grad_block(self._imports_index(), scope_chain(anchor, self.parent), body, leading_lines)

    def _fix(self, edits, anchor, imports) -> Fix:
        scope = scope_chain(anchor, self.parent)[0]
        if id(scope) not in self._backward_in_scope:
            in_forward = isinstance(scope, cst.FunctionDef) and scope.name.value == "forward"
            self._backward_in_scope[id(scope)] = in_forward or runs_backward(scope)
        applicability = Applicability.UNSAFE if self._backward_in_scope[id(scope)] else Applicability.SAFE
        return Fix(edits=tuple(edits), applicability=applicability, effect=Effect.PRESERVING, imports=tuple(imports))

    def _imports_index(self) -> Imports:
        return Imports.of(self._module, self.context.cache)

    @staticmethod
    def _message(kind: str) -> str:
        if kind == "detach":
            return "In-place write through `.detach()`: write to the tensor under `torch.no_grad()` instead"
        return "In-place write through `.data` hides it from autograd: write under `torch.no_grad()` instead"

    # --- recognising and rewriting one statement ----------------------------------------------------
    def _rewrite_line(self, statement) -> tuple[cst.SimpleStatementLine, str] | None:
        if not isinstance(statement, cst.SimpleStatementLine):
            return None
        rewritten = [self._rewrite_small(s) for s in statement.body]
        if not all(rewritten):
            return None
        return statement.with_changes(body=[new for new, _ in rewritten]), rewritten[0][1]

    def _rewrite_small(self, small) -> tuple[cst.BaseSmallStatement, str] | None:
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            call = small.value
            func = call.func
            if not (isinstance(func, cst.Attribute) and func.attr.value.endswith("_")):
                return None
            if func.attr.value in _NOT_WRITES or func.attr.value.startswith("_"):
                return None
            stripped = self._strip_alias(func.value, small)
            if stripped is None:
                return None
            target, kind = stripped
            args = _modernise(func.attr.value, [_strip_grad_data(a) for a in call.args])
            new_call = call.with_changes(func=func.with_changes(value=target), args=args)
            return small.with_changes(value=new_call), kind
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
            if not isinstance(target, cst.Subscript):
                return None  # `w.data = t` swaps the storage: not a plain write
            stripped = self._strip_alias(target, small)
            if stripped is None:
                return None
            new_target, kind = stripped
            return (
                small.with_changes(
                    targets=[small.targets[0].with_changes(target=new_target)], value=_strip_grad_data(small.value)
                ),
                kind,
            )
        if isinstance(small, cst.AugAssign):
            stripped = self._strip_alias(small.target, small)
            if stripped is None:
                return None
            new_target, kind = stripped
            return small.with_changes(target=new_target, value=_strip_grad_data(small.value)), kind
        return None

    def _strip_alias(self, expr, anchor) -> tuple[cst.BaseExpression, str] | None:
        """`X.detach()` / `X.data` (optionally indexed) -> (`X` / `X[...]`, kind), or None."""
        if isinstance(expr, cst.Subscript):
            inner = self._strip_alias(expr.value, anchor)
            if inner is None:
                return None
            return expr.with_changes(value=inner[0]), inner[1]
        if (
            isinstance(expr, cst.Call)
            and not expr.args
            and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == "detach"
        ):
            return expr.func.value, "detach"
        if isinstance(expr, cst.Attribute) and expr.attr.value == "data":
            if looks_like_parameter(expr.value, anchor, self.parent):
                return expr.value, "data"
        return None


def _strip_grad_data(node):
    """`p.grad.data` -> `p.grad` inside a rewritten statement (the same tensor, now read under no_grad)."""

    class _Strip(cst.CSTTransformer):
        def leave_Attribute(self, original, updated):
            if (
                updated.attr.value == "data"
                and isinstance(updated.value, cst.Attribute)
                and updated.value.attr.value == "grad"
            ):
                return updated.value
            return updated

    return node.visit(_Strip())


def _modernise(method: str, args: list[cst.Arg]) -> list[cst.Arg]:
    """`add_(alpha, other)` -> `add_(other, alpha=alpha)`: the deprecated scalar-first overloads."""
    if method not in _SCALAR_FIRST:
        return args
    keyword, count = _SCALAR_FIRST[method]
    if len(args) != count or any(a.keyword is not None or a.star for a in args):
        return args
    scalar, *tensors = args
    return [cst.Arg(value=t.value) for t in tensors] + [
        cst.Arg(
            value=scalar.value,
            keyword=cst.Name(keyword),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
            ),
        )
    ]
