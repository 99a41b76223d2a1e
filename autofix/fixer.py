"""Applies the edits of many fixes to one module in a single transformer pass.

Fixes whose edits overlap (one target inside another fix's target) cannot be applied in the same
pass: the inner one is deferred, and the engine's next pass finds it again on the new tree.
"""
from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from autofix.rule import Fix


@dataclass
class Plan:
    applied: list[Fix]
    deferred: list[Fix]


def plan(module: cst.Module, fixes: list[Fix]) -> Plan:
    """Choose the fixes that can be applied together: no edit target may lie inside another fix's target."""
    owner: dict[int, Fix] = {}
    for fix in fixes:
        for edit in fix.edits:
            owner.setdefault(id(edit.target), fix)
    rejected: set[int] = set()

    class _Overlap(cst.CSTVisitor):
        def __init__(self) -> None:
            self.stack: list[Fix] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            fix = owner.get(id(node))
            if fix is not None:
                # The outermost fix wins: an overlapping inner fix waits for the next pass.
                if any(outer is not fix for outer in self.stack):
                    rejected.add(id(fix))
                self.stack.append(fix)
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            if id(original_node) in owner:
                self.stack.pop()

    module.visit(_Overlap())
    # A fix is all-or-nothing, and a fix rejected anywhere is rejected everywhere. A fix whose target
    # lies inside a rejected fix's target is fine: the rejected fix is simply not applied.
    applied = [f for f in fixes if id(f) not in rejected]
    return Plan(applied=applied, deferred=[f for f in fixes if id(f) in rejected])


def apply(module: cst.Module, fixes: list[Fix]) -> cst.Module:
    """Apply non-overlapping fixes (see `plan`) to `module` and return the new module."""
    replacements = {id(e.target): e.replacement for f in fixes for e in f.edits}
    imports: dict[int, list[str]] = {}
    for fix in fixes:
        for request in fix.imports:
            wanted = imports.setdefault(id(request.scope), [])
            if request.statement not in wanted:
                wanted.append(request.statement)
    return module.visit(_Applier(replacements, imports))


class _Applier(cst.CSTTransformer):
    def __init__(self, replacements: dict, imports: dict[int, list[str]]):
        super().__init__()
        self.replacements = replacements
        self.imports = imports

    def on_leave(self, original_node, updated_node):
        updated = self.replacements.get(id(original_node), updated_node)
        statements = self.imports.get(id(original_node))
        if statements and isinstance(updated, (cst.Module, cst.FunctionDef)):
            updated = _insert_imports(updated, statements)
        return updated


def _insert_imports(scope, statements: list[str]):
    """Put new imports after the docstring and the leading block of imports of a module or function."""
    new = [cst.parse_statement(s + "\n") for s in statements]
    if isinstance(scope, cst.Module):
        body = list(scope.body)
        index = _after_leading_imports(body)
        return scope.with_changes(body=[*body[:index], *new, *body[index:]])
    block = scope.body
    if not isinstance(block, cst.IndentedBlock):
        # `def f(): return x` on one line: give it a real block so the import has somewhere to go.
        block = cst.IndentedBlock(body=[cst.SimpleStatementLine(body=list(block.body))])
    body = list(block.body)
    index = _after_leading_imports(body)
    return scope.with_changes(body=block.with_changes(body=[*body[:index], *new, *body[index:]]))


def _after_leading_imports(body: list) -> int:
    index = 0
    if body and _is_docstring(body[0]):
        index = 1
    while index < len(body) and _is_import(body[index]):
        index += 1
    return index


def _is_docstring(statement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _is_import(statement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body
    )

