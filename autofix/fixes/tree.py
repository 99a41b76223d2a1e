"""FixTree: the LibCST module of a file whose fixes are being rendered, and what fix builders ask of it.

Positions, parents and depths are computed for the statements that hold findings only (see positions.py), and
every query costs what the statement it falls in costs, not what the module costs: the nodes by range are
indexed as statements are covered, and the statement holding a line is found by bisection. A file with a
finding in every class (the generated benchmark module) is thus fixed in time linear in its size.
"""
from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from autofix.diff import split_lines
from autofix.lazy import libcst as cst
from autofix.semantic import Range

if TYPE_CHECKING:
    from autofix.fixes.positions import TreeState
    from autofix.rule import FileContext, Finding

class FixTree:
    """The LibCST module of a file that has fixes to render, with what fix builders ask of it."""

    def __init__(self, module: cst.Module, context: FileContext, syntax: ast.Module | None = None,
                 text: str | None = None):
        """`syntax` (CPython's tree of the same text) lets positions be computed for the statements that hold
        findings only; without it, or where it does not line up with the LibCST module, for the whole module."""
        self.module = module
        self.context = context
        self._syntax = syntax
        self._text = text
        self._positions: dict[cst.CSTNode, object] = {}
        self._parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self._depths: dict[cst.CSTNode, int] = {module: 0}
        self._regions: set[int] = set()
        self._complete = False
        # Nodes by exact range, outermost first: kept up to date as statements are covered (rebuilt per fix,
        # it made fixing a file with a finding per class quadratic in its size).
        self._by_range: dict[tuple[int, int, int, int], list[cst.CSTNode]] = {}
        self._region_positions: dict[int, dict] = {}  # id(statement covered) -> positions of its nodes
        self._groups: dict[int, object] = {}  # statement lists located in so far (positions.locate's memo)
        self._lines: list[str] | None = None
        # The finding whose own fix is being built by itself, or None when fixes are built to be applied
        # together (see Rule.fix).
        self.alone: Finding | None = None
        self._region: int | None = None  # the statement the last query fell in
        self._statement_code: dict[int, tuple[cst.CSTNode, str]] = {}  # id(top-level statement) -> (it, its code)
        if syntax is None:
            self._compute_all()

    def _compute_all(self) -> None:
        # Positions, parents and depths in one code-generation pass. LibCST's MetadataWrapper would resolve
        # PositionProvider and ParentNodeProvider in two whole-module traversals; on the large files that have
        # fixes, those two were most of the time `--diff` spent (see docs/performance.md).
        from autofix.fixes.positions import TreeState

        state = TreeState(self.module)
        self.module._codegen(state)
        self._absorb(state)
        self._reindex()
        if self._text is None:
            self._text = "".join(state.tokens)  # the module's code, which that pass generated anyway
        self._complete = True

    def _absorb(self, state: TreeState) -> dict:
        computed = state.provider._computed
        self._positions.update(computed)
        self._parents.update(state.parents)
        self._depths.update(state.depths)
        return computed

    def _add_to_index(self, positions: dict) -> None:
        """Index nodes not indexed before by their range."""
        index, grown = self._by_range, []
        for node, where in positions.items():
            key = (where.start.line, where.start.column, where.end.line, where.end.column)
            nodes = index.get(key)
            if nodes is None:
                index[key] = [node]
            else:
                nodes.append(node)
                grown.append(nodes)
        for nodes in grown:
            nodes.sort(key=self._depths.__getitem__)

    def _reindex(self) -> None:
        self._by_range = {}
        self._add_to_index(self._positions)

    def _cover(self, where: Range) -> None:
        """Compute positions for the statement holding `where` (or for everything, if it cannot be located)."""
        if self._complete:
            return
        from autofix.fixes.positions import locate

        region = locate(self.module, self._syntax, where.line, where.end_line, self._groups)
        if region is None:
            self._compute_all()
            return
        self._region = id(region.statement)
        if id(region.statement) not in self._regions:
            self._regions.add(id(region.statement))
            state = region.generate(self.module)
            known = self._positions
            # A statement around one covered before computes that one's nodes again: index them once.
            fresh = {node: at for node, at in state.provider._computed.items() if node not in known}
            self._region_positions[id(region.statement)] = self._absorb(state)
            self._add_to_index(fresh)

    def code_of(self, module: cst.Module) -> str:
        """`module.code`, for this tree's module or one made from it by applying fixes: the code of each top-level
        statement is generated once and reused wherever the same statement object stands, so that the check that
        LibCST reproduces the file and every rendering of fixes generate the changed statements only.

        Module._codegen_impl's steps, with the tokens of every top-level statement but the last joined into one
        (the last is left as it is: the module's trailing-newline rule pops the last token)."""
        from libcst._nodes.internal import CodegenState

        state = CodegenState(default_indent=module.default_indent, default_newline=module.default_newline)
        for line in module.header:
            line._codegen(state)
        tokens, known, last = state.tokens, self._statement_code, len(module.body) - 1
        for n, statement in enumerate(module.body):
            if n == last:
                statement._codegen(state)
                break
            found = known.get(id(statement))
            if found is not None and found[0] is statement:
                tokens.append(found[1])
                continue
            start = len(tokens)
            statement._codegen(state)
            code = "".join(tokens[start:])
            del tokens[start:]
            tokens.append(code)
            known[id(statement)] = (statement, code)
        for line in module.footer:
            line._codegen(state)
        if module.has_trailing_newline:
            if not tokens:
                state.add_token(state.default_newline)
        else:
            state.pop_trailing_newline()
        return "".join(tokens)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        if node not in self._parents and node is not self.module and not self._complete:
            self._compute_all()  # a node outside the statements computed so far
        return self._parents.get(node)

    def position(self, node: cst.CSTNode):
        if node not in self._positions and not self._complete:
            self._compute_all()
        return self._positions[node]

    def nodes_at(self, where: Range) -> list[cst.CSTNode]:
        """The nodes whose range is exactly `where` (outermost first); for a parenthesised expression, whose
        range LibCST counts with its parentheses, the innermost nodes that contain `where`.

        A node is returned only when its own text is the source's text at `where`: LibCST and CPython count
        lines differently in rare files (a backslash continuation on the first line), and a fix built on a
        node the finding did not mean would edit the wrong code. Then no node is returned, and no fix built.
        """
        # LibCST's text for a statement also holds its leading comments, and re-indents a nested block: the
        # test is that the node's text contains the first line of the source at `where` (a node found by
        # miscounted lines holds other code altogether).
        self._cover(where)
        found = self._nodes_at(where)
        if not found and not self._complete:
            self._compute_all()  # the statement located from `ast` did not hold it: look everywhere
            found = self._nodes_at(where)
        return found

    def _nodes_at(self, where: Range) -> list[cst.CSTNode]:
        wanted = self._text_at(where).strip().split("\n", 1)[0]
        exact = self._by_range.get((where.line, where.column, where.end_line, where.end_column))
        if exact:
            # An indented block that holds one statement has that statement's range; it is never what a finding
            # means (and the statements-only positions do not compute it).
            return [n for n in exact if not isinstance(n, cst.IndentedBlock) and wanted in self._code(n)]
        innermost, depth = None, -1
        # The nodes of the statement that holds `where`, once it is located (every node, once all are computed).
        candidates = self._positions if self._complete else self._region_positions.get(self._region, {})
        for node, at in candidates.items():
            if (at.start.line, at.start.column) <= (where.line, where.column) and (at.end.line, at.end.column) >= (
                where.end_line, where.end_column
            ) and not isinstance(node, (cst.Module, cst.IndentedBlock)) and self._depths[node] > depth:
                innermost, depth = node, self._depths[node]
        if innermost is None:
            return []
        return [innermost] if wanted and wanted in self._code(innermost) else []

    def _code(self, node: cst.CSTNode) -> str:
        from libcst._nodes.base import CSTCodegenError

        try:
            return self.module.code_for_node(node)
        except CSTCodegenError:  # a node that renders only inside its parent (an Annotation, for one)
            return ""

    def _text_at(self, where: Range) -> str:
        if self._lines is None:
            if self._text is None:
                self._text = self.module.code
            self._lines = split_lines(self._text)  # at "\n" only, as Python counts lines
        lines = self._lines[where.line - 1:where.end_line]
        if not lines:
            return ""
        if len(lines) == 1:
            return lines[0][where.column:where.end_column]
        return lines[0][where.column:] + "".join(lines[1:-1]) + lines[-1][:where.end_column]

    def node_at(self, where: Range, *types: type) -> cst.CSTNode | None:
        """The outermost node of one of `types` (any type, when none are given) exactly at `where`."""
        for node in self.nodes_at(where):
            if not types or isinstance(node, types):
                return node
        return None

    def ancestors(self, node: cst.CSTNode):
        current = self.parent(node)
        while current is not None:
            yield current
            current = self.parent(current)
