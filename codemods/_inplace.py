"""In-place writes to a name, and their out-of-place equivalents. Shared by the GF3xx rules."""
from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from autofix.rule import Applicability, Edit, Effect, Fix
from codemods._torch import Imports, no_grad_block, scope_chain

# In-place tensor methods with an exact out-of-place twin (same arguments, same result, a new tensor).
OUT_OF_PLACE = {
    m + "_": m
    for m in """add sub mul div clamp clamp_min clamp_max masked_fill pow neg abs exp sqrt relu sigmoid tanh
    scatter scatter_add index_fill index_add masked_scatter addcmul addcdiv floor ceil round lerp sign square""".split()
}
NOT_WRITES = frozenset({"requires_grad_", "retain_grad", "share_memory_", "record_stream"})

_AUGMENTED = {
    cst.AddAssign: (cst.Add, 2),
    cst.SubtractAssign: (cst.Subtract, 2),
    cst.MultiplyAssign: (cst.Multiply, 3),
    cst.DivideAssign: (cst.Divide, 3),
    cst.FloorDivideAssign: (cst.FloorDivide, 3),
    cst.ModuloAssign: (cst.Modulo, 3),
    cst.MatrixMultiplyAssign: (cst.MatrixMultiply, 3),
    cst.PowerAssign: (cst.Power, 4),
}
_PRECEDENCE = {
    cst.Add: 2, cst.Subtract: 2, cst.Multiply: 3, cst.Divide: 3, cst.FloorDivide: 3, cst.Modulo: 3,
    cst.MatrixMultiply: 3, cst.Power: 4,
}


@dataclass(frozen=True)
class Write:
    """An in-place write to `name` in one small statement."""

    name: str
    kind: str  # "augmented", "method", "subscript"
    small: cst.BaseSmallStatement
    method: str | None = None


def writes_in(small: cst.BaseSmallStatement) -> Write | None:
    """The in-place write a small statement makes to a plain name: `x += y`, `x.mul_(2)`, `x[m] = 0`, `x[m].zero_()`."""
    if isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name):
        return Write(small.target.value, "augmented", small)
    if isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Subscript):
        base = _base_name(small.target)
        return Write(base, "subscript", small) if base else None
    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Subscript):
        base = _base_name(small.targets[0].target)
        return Write(base, "subscript", small) if base else None
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and isinstance(small.value.func, cst.Attribute):
        method = small.value.func.attr.value
        if not method.endswith("_") or method.startswith("_") or method in NOT_WRITES:
            return None
        receiver = small.value.func.value
        if isinstance(receiver, cst.Name):
            return Write(receiver.value, "method", small, method)
        base = _base_name(receiver) if isinstance(receiver, cst.Subscript) else None
        return Write(base, "subscript", small, method) if base else None
    return None


def _base_name(subscript: cst.Subscript) -> str | None:
    value = subscript.value
    while isinstance(value, cst.Subscript):
        value = value.value
    return value.value if isinstance(value, cst.Name) else None


def out_of_place(write: Write) -> cst.BaseSmallStatement | None:
    """`x += y` -> `x = x + y`; `x.clamp_(0)` -> `x = x.clamp(0)`; None when there is no exact twin."""
    small = write.small
    if write.kind == "augmented":
        operator, precedence = _AUGMENTED.get(type(small.operator), (None, None))
        if operator is None:
            return None
        right = _parenthesised(small.value, precedence)
        value = cst.BinaryOperation(left=cst.Name(write.name), operator=operator(), right=right)
        return cst.Assign(targets=[cst.AssignTarget(cst.Name(write.name))], value=value)
    if write.kind == "method" and write.method in OUT_OF_PLACE:
        call = small.value
        new_call = call.with_changes(func=call.func.with_changes(attr=cst.Name(OUT_OF_PLACE[write.method])))
        return cst.Assign(targets=[cst.AssignTarget(cst.Name(write.name))], value=new_call)
    return None


def out_of_place_fix(statement: cst.SimpleStatementLine, write: Write) -> Fix | None:
    """Safe fix for an in-place write: rebind out of place, or clone first for an indexed write."""
    if write.kind == "subscript":
        return Fix((Edit(statement, cst.FlattenSentinel([clone_first(write), statement])),),
                   Applicability.SAFE, Effect.REPAIRING)
    replacement = out_of_place(write)
    if replacement is None:
        return None
    return Fix((Edit(write.small, replacement),), Applicability.SAFE, Effect.REPAIRING)


def clone_first(write: Write) -> cst.SimpleStatementLine:
    """`x = x.clone()`, to put before a subscript write so that it lands on a copy."""
    clone = cst.Call(func=cst.Attribute(cst.Name(write.name), cst.Name("clone")))
    return cst.SimpleStatementLine(body=[cst.Assign(targets=[cst.AssignTarget(cst.Name(write.name))], value=clone)])


def _parenthesised(expr, precedence: int):
    needs = isinstance(expr, (cst.BooleanOperation, cst.Comparison, cst.IfExp, cst.Lambda)) or (
        isinstance(expr, cst.BinaryOperation) and _PRECEDENCE.get(type(expr.operator), 0) <= precedence
    )
    if needs and not expr.lpar:
        return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return expr


def rebinds(statement) -> set[str]:
    """Names a statement (re)binds: assignment targets, loop targets, `with ... as` names."""
    names: set[str] = set()

    class _Targets(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            _collect(node.target, names)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            _collect(node.target, names)

        def visit_For(self, node: cst.For) -> None:
            _collect(node.target, names)

        def visit_AsName(self, node: cst.AsName) -> None:
            _collect(node.name, names)

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            _collect(node.target, names)

        def visit_FunctionDef(self, node) -> bool:
            return False

    statement.visit(_Targets())
    return names


def _collect(target, names: set[str]) -> None:
    if isinstance(target, cst.Name):
        names.add(target.value)
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            _collect(element.value, names)
    elif isinstance(target, cst.StarredElement):
        _collect(target.value, names)


def statements_in_order(body):
    """Every simple statement line in `body`, in textual order, descending into compound statements
    (not into nested functions or classes)."""
    for statement in body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        if isinstance(statement, cst.SimpleStatementLine):
            yield statement
            continue
        yield statement  # the compound statement itself (its header may bind names: for-targets, with-as)
        for attribute in ("body", "orelse", "finalbody"):
            part = getattr(statement, attribute, None)
            if isinstance(part, cst.If):
                yield from statements_in_order([part])
            elif part is not None and isinstance(getattr(part, "body", None), cst.IndentedBlock):
                yield from statements_in_order(part.body.body)
            elif isinstance(part, cst.IndentedBlock):
                yield from statements_in_order(part.body)
        for handler in getattr(statement, "handlers", ()):
            yield from statements_in_order(handler.body.body)


def header_binds(statement) -> set[str]:
    """Names the header of a compound statement binds: a for-loop's target, a with-statement's `as` names."""
    names: set[str] = set()
    if isinstance(statement, cst.For):
        _collect(statement.target, names)
    elif isinstance(statement, cst.With):
        for item in statement.items:
            if item.asname is not None:
                _collect(item.asname.name, names)
    return names


def binds(statement) -> set[str]:
    """What a statement yielded by `statements_in_order` binds, without looking into nested blocks."""
    return rebinds(statement) if isinstance(statement, cst.SimpleStatementLine) else header_binds(statement)


def no_grad_fix(statement, module: cst.Module, parent_of, cache: dict) -> Fix:
    """Unsafe fix: the same statement under `with torch.no_grad():` (the write then keeps the tensor a leaf)."""
    block, imports = no_grad_block(
        Imports.of(module, cache), scope_chain(statement, parent_of), [statement.with_changes(leading_lines=())],
        statement.leading_lines,
    )
    return Fix((Edit(statement, block),), Applicability.UNSAFE, Effect.REPAIRING, imports)
