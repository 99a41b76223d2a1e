"""Small questions about syntax alone (no scopes, no values): dotted names, keywords, constants, positions."""
from __future__ import annotations

import ast


def dotted(expr: ast.AST) -> str | None:
    """`a.b.c` for a Name/Attribute chain (how two mentions of one receiver are matched), else None."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


def _start(node: ast.AST) -> tuple[int, int]:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def _end(node: ast.AST) -> tuple[int, int]:
    return (getattr(node, "end_lineno", 0) or 0, getattr(node, "end_col_offset", 0) or 0)


def _is_static(function: ast.AST) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in getattr(function, "decorator_list", ()))


def _field_of(container: ast.AST | None, child: ast.AST) -> str | None:
    if container is None:
        return None
    for name, value in ast.iter_fields(container):
        if value is child or (isinstance(value, list) and any(v is child for v in value)):
            return name
    return None


def _in_body(conditional: ast.AST, child: ast.AST) -> bool:
    body = conditional.body
    return child is body or (isinstance(body, list) and any(s is child for s in body))


def _is_constant(node: ast.AST | None, value) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _keyword_true(call: ast.Call, name: str) -> bool:
    return _is_constant(_keyword(call, name), True)


def keyword(call: ast.Call, name: str) -> ast.AST | None:
    """The value passed as `name=` to `call`, or None."""
    return _keyword(call, name)


def is_true(node: ast.AST | None) -> bool:
    return _is_constant(node, True)


def is_false(node: ast.AST | None) -> bool:
    return _is_constant(node, False)


def _same_reference(a: ast.AST, b: ast.AST) -> bool:
    """`a` and `b` spell the same name or attribute chain (`m`, `self.p`)."""
    if isinstance(a, ast.Name) and isinstance(b, ast.Name):
        return a.id == b.id
    if isinstance(a, ast.Attribute) and isinstance(b, ast.Attribute):
        return a.attr == b.attr and _same_reference(a.value, b.value)
    return False


def _is_constant_str(node: ast.AST, text: str) -> bool:
    return isinstance(node, ast.Constant) and node.value == text


NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_NOT_OWN = frozenset({*NESTED_SCOPES, ast.Load, ast.Store, ast.Del})


def own_nodes(node: ast.AST):
    """`node` and everything under it, except the insides of the functions, classes and lambdas nested in it (and
    the expression contexts Load/Store/Del, which no caller asks for). A definition given as `node` is walked
    into. A tight loop over `_fields` in ast.iter_child_nodes' order: the generic walk was a large share of
    checking a file."""
    stack = [node]
    pop, push, AST, skip = stack.pop, stack.append, ast.AST, _NOT_OWN
    while stack:
        current = pop()
        yield current
        for name in current._fields:
            value = getattr(current, name, None)
            if value.__class__ is list:
                for child in value:
                    if isinstance(child, AST) and child.__class__ not in skip:
                        push(child)
            elif isinstance(value, AST) and value.__class__ not in skip:
                push(value)
