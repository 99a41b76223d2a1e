"""Positions, parents and depths of LibCST nodes, for the whole module or for one statement of it.

LibCST's PositionProvider generates the code of the whole module to count lines and columns. The files that
have fixes are the largest ones, and a fix needs the nodes of one statement only; so `Region` generates the
code of just the innermost statement (inside classes and functions) that holds a finding, starting at the line
and indentation where that statement stands. CPython's `ast`, which the engine has already parsed, says which
statement that is and on which line it starts: LibCST's statements and `ast`'s correspond one to one, except
that a line `a; b` is one LibCST statement and two `ast` ones.
"""
from __future__ import annotations

import ast
import bisect
from dataclasses import dataclass

import libcst as cst
from libcst.metadata.position_provider import (
    PositionProvider,
    PositionProvidingCodegenState,
)


class TreeState(PositionProvidingCodegenState):
    """LibCST's position-recording code generation, also noting each node's parent and depth on the way."""

    def __init__(self, module: cst.Module, enclosing: list[cst.CSTNode] = (), indents: list[str] = (), line: int = 1):
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline,
                         provider=PositionProvider())
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self.depths: dict[cst.CSTNode, int] = {}
        self.open: list[cst.CSTNode] = list(enclosing)
        self.indent_tokens = list(indents)
        self.line = line

    def before_codegen(self, node: cst.CSTNode) -> None:
        super().before_codegen(node)
        if self.open:
            self.parents[node] = self.open[-1]
        self.depths[node] = len(self.open)
        self.open.append(node)

    def after_codegen(self, node: cst.CSTNode) -> None:
        self.open.pop()
        super().after_codegen(node)


@dataclass
class Region:
    """One statement, with what generating its code alone needs: its ancestors and the line it starts on."""

    statement: cst.CSTNode
    enclosing: list[cst.CSTNode]  # the module, then each class/function and its indented block, outermost first
    indents: list[str]  # the indentation of each enclosing block
    line: int  # where the statement's code generation starts: its leading comment and blank lines included
    first: int  # its first line of code (a decorator's, for a decorated definition)
    last: int

    def generate(self, module: cst.Module) -> TreeState:
        state = TreeState(module, self.enclosing, self.indents, self.line)
        self.statement._codegen(state)
        for depth, node in enumerate(self.enclosing):
            state.depths[node] = depth
            if depth:
                state.parents[node] = self.enclosing[depth - 1]
        return state


def locate(module: cst.Module, syntax: ast.Module, first: int, last: int, memo: dict | None = None) -> Region | None:
    """The innermost statement (descending through classes and functions) whose lines hold `first`..`last`,
    or None when the two trees do not line up (the caller then falls back to the whole module).

    `memo` (one per module) keeps the statement lists already paired up, so that locating a finding costs a
    bisection per level rather than a scan of the module's statements."""
    memo = {} if memo is None else memo
    enclosing: list[cst.CSTNode] = [module]
    indents: list[str] = []
    owner, statements, nodes = module, module.body, syntax.body
    found: Region | None = None
    while True:
        groups = memo.get(id(owner))
        if groups is None:
            groups = memo[id(owner)] = _Groups(statements, nodes)
        inner = groups.holding(first, last)
        if inner is None:
            return found
        statement, group = inner
        found = Region(statement, list(enclosing), list(indents), _generation_start(statement, group[0]),
                       _first_line(group[0]), group[-1].end_lineno)
        definition = group[0]
        if not (isinstance(statement, (cst.FunctionDef, cst.ClassDef)) and isinstance(statement.body, cst.IndentedBlock)
                and isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))):
            return found
        enclosing += [statement, statement.body]
        indents.append(module.default_indent if statement.body.indent is None else statement.body.indent)
        owner, statements, nodes = statement, statement.body.body, definition.body


class _Groups:
    """A list of LibCST statements paired with the `ast` statements of each (a line `a; b` is one LibCST
    statement and two `ast` ones), in source order: the pairs stop where the two lists stop lining up."""

    def __init__(self, statements, nodes: list[ast.stmt]):
        self.firsts: list[int] = []
        self.pairs: list[tuple[cst.CSTNode, list[ast.stmt]]] = []
        index = 0
        for statement in statements:
            count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
            group = nodes[index:index + count]
            index += count
            if len(group) != count:
                break  # the trees do not line up from here on: no statement past this point is found
            self.firsts.append(_first_line(group[0]))
            self.pairs.append((statement, group))

    def holding(self, first: int, last: int):
        """The LibCST statement whose `ast` statements span `first`..`last`, with those, or None. Statements do
        not share lines, so the only candidate is the last one starting at or before `first`."""
        at = bisect.bisect_right(self.firsts, first) - 1
        if at < 0:
            return None
        statement, group = self.pairs[at]
        return (statement, group) if last <= group[-1].end_lineno else None


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", None)
    return min([node.lineno] + [d.lineno for d in decorators]) if decorators else node.lineno


def _generation_start(statement: cst.CSTNode, node: ast.stmt) -> int:
    """The line LibCST's code generation of `statement` starts on: its leading blank and comment lines come first,
    and for a decorated definition the first decorator's own leading lines too."""
    line = _first_line(node) - len(getattr(statement, "leading_lines", ()))
    decorators = getattr(statement, "decorators", ())
    if decorators:
        line -= len(decorators[0].leading_lines)
    return line
