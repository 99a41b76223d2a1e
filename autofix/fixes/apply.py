"""Applies the edits of many fixes to one module in a single transformer pass.

Fixes whose edits overlap (one target inside another fix's target) cannot be applied in the same
pass: the inner one is deferred, and the engine's next pass finds it again on the new tree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import libcst as cst

from autofix.rule import Fix


@dataclass
class Plan:
    applied: list[Fix]
    deferred: list[Fix]


def plan(fixes: list[Fix], parent_of: Callable[[cst.CSTNode], cst.CSTNode | None]) -> Plan:
    """Choose the fixes that can be applied together: no edit target may lie inside (or be) another fix's target.

    The outermost fix wins (the first one, for the same target); a rejected fix waits for the next pass.
    Found by walking up from each target, not by visiting the module: the files with fixes are the largest.
    """
    owner: dict[int, Fix] = {}
    for fix in fixes:
        for edit in fix.edits:
            owner.setdefault(id(edit.target), fix)
    rejected: set[int] = set()
    for fix in fixes:
        for edit in fix.edits:
            node = edit.target if owner[id(edit.target)] is not fix else parent_of(edit.target)
            while node is not None:
                other = owner.get(id(node))
                if other is not None and other is not fix:
                    rejected.add(id(fix))
                    break
                node = parent_of(node)
    # A fix is all-or-nothing, and a fix rejected anywhere is rejected everywhere. A fix whose target
    # lies inside a rejected fix's target is fine: the rejected fix is simply not applied.
    return Plan(applied=[f for f in fixes if id(f) not in rejected], deferred=[f for f in fixes if id(f) in rejected])


def apply(module: cst.Module, fixes: list[Fix], parent_of: Callable[[cst.CSTNode], cst.CSTNode | None]) -> cst.Module:
    """Apply non-overlapping fixes (see `plan`) to `module` and return the new module."""
    replacements = {id(e.target): e.replacement for f in fixes for e in f.edits}
    imports: dict[int, list[str]] = {}
    for fix in fixes:
        for request in fix.imports:
            wanted = imports.setdefault(id(request.scope), [])
            if request.statement not in wanted:
                wanted.append(request.statement)
    # Only the nodes on a path from the module to an edited node are rebuilt; every other subtree is kept
    # as it is (LibCST nodes are immutable), instead of transforming the whole module.
    on_path: set[int] = set()
    for node in [e.target for f in fixes for e in f.edits] + [r.scope for f in fixes for r in f.imports]:
        while node is not None and id(node) not in on_path:
            on_path.add(id(node))
            node = parent_of(node)
    return module.visit(_Applier(replacements, imports, on_path))


class _Applier(cst.CSTTransformer):
    def __init__(self, replacements: dict, imports: dict[int, list[str]], on_path: set[int]):
        super().__init__()
        self.replacements = replacements
        self.imports = imports
        self.on_path = on_path

    def on_visit(self, node) -> bool:
        return id(node) in self.on_path and id(node) not in self.replacements

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

