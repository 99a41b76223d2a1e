"""What a statement of a training loop does (backward, step, zero_grad, clip, scheduler step), and how to move one.

Shared by the GF4xx rules. Everything is lexical and per block: a rule looks at the statements of one block
(a loop body or a function body) in order, and never reasons across branches it cannot see whole.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from autofix.rule import Applicability, Edit, Effect, Fix
from codemods._torch import BackwardCalls, dotted

_OPTIMIZER_NAME = re.compile(r"(^|[._])(opt|optim|optimizer|optimiser)s?(_\w+)?$|_(opt|optim|optimizer)$", re.I)
_SCHEDULER_NAME = re.compile(r"(^|[._])(sched|scheduler|lr_scheduler|lr_sched|warmup)(_\w+)?$|_(sched|scheduler)$", re.I)
_CLIP_OR_UNSCALE = re.compile(r"(^|\.)(clip_grad_norm_|clip_grad_value_|clip_grad_norm|unscale_)$")


@dataclass(frozen=True)
class Bindings:
    """Names bound to optimizers and schedulers anywhere in the file (`opt = torch.optim.Adam(...)`)."""

    optimizers: frozenset[str]
    schedulers: frozenset[str]

    @classmethod
    def of(cls, module: cst.Module, cache: dict) -> "Bindings":
        key = ("step-bindings", id(module))
        if key not in cache:
            optimizers: set[str] = set()
            schedulers: set[str] = set()

            class _Visitor(cst.CSTVisitor):
                def visit_Assign(self, node: cst.Assign) -> None:
                    if not isinstance(node.value, cst.Call):
                        return
                    callee = dotted(node.value.func) or ""
                    targets = {dotted(t.target) for t in node.targets} - {None}
                    if "lr_scheduler." in callee or callee.endswith(("LR", "Scheduler", "Annealing")):
                        schedulers.update(targets)
                    elif "optim." in callee or callee.endswith(("optimizers", "Adam", "AdamW", "SGD")):
                        optimizers.update(targets)

            module.visit(_Visitor())
            cache[key] = cls(frozenset(optimizers), frozenset(schedulers))
        return cache[key]

    def is_scheduler(self, name: str) -> bool:
        return name in self.schedulers or bool(_SCHEDULER_NAME.search(name))

    def is_optimizer(self, name: str) -> bool:
        return name in self.optimizers or (bool(_OPTIMIZER_NAME.search(name)) and not self.is_scheduler(name))


def single_call(statement) -> cst.Call | None:
    """The call of a statement that is nothing but one call (`opt.step()`), else None."""
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            return small.value
    return None


def _method(call: cst.Call) -> tuple[str, str] | None:
    if isinstance(call.func, cst.Attribute):
        owner = dotted(call.func.value)
        if owner is not None:
            return owner, call.func.attr.value
    return None


def optimizer_step(statement, bindings: Bindings) -> str | None:
    """The optimizer a statement steps: `opt.step()`, `scaler.step(opt)`, else None."""
    call = single_call(statement)
    if call is None:
        return None
    method = _method(call)
    if method is None or method[1] != "step":
        return None
    owner, _ = method
    if not call.args and bindings.is_optimizer(owner):
        return owner
    if len(call.args) == 1 and owner.split(".")[-1] == "scaler":  # AMP: scaler.step(optimizer)
        return dotted(call.args[0].value)
    return None


def scheduler_step(statement, bindings: Bindings) -> str | None:
    call = single_call(statement)
    method = _method(call) if call is not None else None
    # ReduceLROnPlateau takes a metric and is stepped by epoch: only argument-free steps are ordered here.
    if method and method[1] == "step" and not call.args and bindings.is_scheduler(method[0]):
        return method[0]
    return None


def zero_grad(statement) -> str | None:
    call = single_call(statement)
    method = _method(call) if call is not None else None
    return method[0] if method and method[1] == "zero_grad" else None


def clips_or_unscales(statement) -> bool:
    call = single_call(statement)
    return call is not None and bool(_CLIP_OR_UNSCALE.search(dotted(call.func) or ""))


def backward_kind(statement) -> str | None:
    """"plain" for a statement that runs backward(), "higher-order" with create_graph/retain_graph, else None."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    finder = BackwardCalls()
    statement.visit(finder)
    if not finder.backward:
        return None
    return "higher-order" if finder.higher_order else "plain"


def contains(statement, predicate) -> bool:
    """True when `statement` or a statement nested in it (not in a nested function) satisfies `predicate`."""
    if predicate(statement):
        return True
    found = False

    class _Nested(cst.CSTVisitor):
        def on_visit(self, node) -> bool:
            nonlocal found
            if found or isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return False
            if node is not statement and isinstance(node, cst.BaseStatement) and predicate(node):
                found = True
                return False
            return True

    statement.visit(_Nested())
    return found


def any_backward(statements) -> bool:
    """True when any of `statements`, or a statement nested in one, runs backward()."""
    return any(contains(s, lambda t: backward_kind(t) is not None) for s in statements)


class _GradUpdate(cst.CSTVisitor):
    """An in-place write to a tensor that uses some `.grad`: `p -= lr * p.grad`, `p.data.add_(p.grad, alpha=-lr)`."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        target_is_grad = isinstance(node.target, cst.Attribute) and node.target.attr.value == "grad"
        if not target_is_grad and _mentions_grad(node.value):
            self.found = True

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value.endswith("_") and not func.attr.value.startswith("_"):
            receiver_is_grad = isinstance(func.value, cst.Attribute) and func.value.attr.value == "grad"
            if not receiver_is_grad and any(_mentions_grad(a.value) for a in node.args):
                self.found = True


class _GradAttribute(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.found = self.found or node.attr.value == "grad"


def _mentions_grad(node) -> bool:
    finder = _GradAttribute()
    node.visit(finder)
    return finder.found


def manual_update(statement) -> bool:
    """A hand-written parameter update: `with torch.no_grad(): for p in ...: p -= lr * p.grad`, `p.data.sub_(...)`."""
    if not isinstance(statement, (cst.With, cst.For, cst.SimpleStatementLine)):
        return False
    finder = _GradUpdate()
    statement.visit(finder)
    return finder.found


class _Names(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()
        self.written: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.read.add(node.value)

    def _write(self, target) -> None:
        base = target
        while isinstance(base, (cst.Attribute, cst.Subscript)):
            base = base.value
        if isinstance(base, cst.Name):
            self.written.add(base.value)
        elif isinstance(base, (cst.Tuple, cst.List)):
            for element in base.elements:
                self._write(element.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._write(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._write(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._write(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._write(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._write(node.name)


def names(statements) -> _Names:
    collector = _Names()
    for statement in statements:
        statement.visit(collector)
    return collector


def independent(moved, crossed) -> bool:
    """True when moving `moved` across `crossed` cannot change what either computes.

    The moved statements must not read or write a name the crossed statements write, and must not write a
    name the crossed statements read.
    """
    m, c = names(moved), names(crossed)
    return not (m.read & c.written or m.written & c.written or m.written & c.read)


def move_fix(block: list, moved_indices: list[int], after_index: int | None, before_index: int | None, effect: Effect):
    """Move statements of `block` (by index) to just after `after_index` or just before `before_index`.

    Returns None when the move is not provably safe (see `independent`); a moved statement keeps its
    comments and blank lines (its leading_lines).
    """
    moved = [block[i] for i in moved_indices]
    if after_index is not None:
        crossed = [s for i, s in enumerate(block) if min(moved_indices) < i <= after_index and i not in moved_indices]
        anchor = block[after_index]
        replacement = cst.FlattenSentinel([anchor, *moved])
    else:
        crossed = [s for i, s in enumerate(block) if before_index <= i < max(moved_indices) and i not in moved_indices]
        anchor = block[before_index]
        replacement = cst.FlattenSentinel([*moved, anchor])
    if not independent(moved, crossed):
        return None
    edits = [Edit(s, cst.RemovalSentinel.REMOVE) for s in moved] + [Edit(anchor, replacement)]
    return Fix(tuple(edits), Applicability.SAFE, effect)


class BlockRule:
    """Mixin for the GF4xx rules: calls `check_block(statements)` for the module body and every indented block."""

    def visit_Module(self, node: cst.Module) -> None:
        self.bindings = Bindings.of(node, self.context.cache)
        self.check_block(list(node.body))

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.check_block(list(node.body))

    def check_block(self, block: list) -> None:  # pragma: no cover - each rule overrides it
        raise NotImplementedError
