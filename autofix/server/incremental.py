"""Re-analysing only what an edit can change, for the language server. No LSP types here.

A module is cut into chunks at its top-level `def`, `class` and decorator lines: a chunk is one definition with
the module-level statements that follow it, and the first chunk is whatever comes before the first definition
(usually the imports). Each chunk is parsed on its own, once: its summary (the module-level names it binds,
the names of the functions and classes it defines, and every name, attribute and identifier-like string it
uses) is memoised by the chunk's text, so an edit parses only the chunks it changed.

A finding in a chunk depends on the definitions that chunk uses (their values, what they return) and on the
chunks that use what it defines (call sites give its parameters their values). So two chunks are linked when
one binds a name the other uses, and the chunks an edit can change are those linked to the edited one,
directly or through others, with the names the edited chunk bound or used before the edit counted too (a
removed call changes its callee's parameters). A chunk made only of imports is linked to nothing: an import's
value comes from outside the file. Names are matched by spelling, which over-approximates what the semantic
model resolves: a link too many costs time, never a finding.

Those chunks are checked together as one module, with every other chunk's lines blank (so every position holds),
and every other chunk keeps its last findings, moved by the lines the edit added or removed. When a chunk does
not parse alone, or the edit reaches most of the module, the caller checks the whole text instead.

The same links cut a whole text into `pieces`, groups closed under links, which the server checks one at a time
after a pause of typing, giving way to the next keystroke between two.
"""
from __future__ import annotations

import ast
import bisect
import itertools
import re
from dataclasses import dataclass, field, replace

from autofix.semantic import Range

# A top-level definition starts a chunk: its first decorator, or its `def`/`class` line.
_DEFINITION = re.compile(r"^(?:@|class\b|def\b|async[ \t]+def\b)", re.MULTILINE)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A message that names a line ("the optimizer on line 12"): when lines move, its chunk is checked again.
LINE_REFERENCE = re.compile(r"\blines? \d+")
# Past this share of the module's lines, checking the whole text costs about as much, and is exact.
MOST = 0.5
_SHORT_STRING = 100  # strings up to this long are read for names (annotations, getattr names, __all__)


@dataclass(frozen=True)
class Summary:
    binds: frozenset[str]  # the module-level names it binds (definitions, assignments, imports, `global`s)
    defines: frozenset[str]  # the names of the functions and classes it defines, methods included
    names: frozenset[str]  # the names it reads that are not local to one of its functions, and short strings' words
    attributes: frozenset[str]  # the attribute names it reads or writes (`obj.step(x)` may call any `step`)
    imports_only: bool  # only imports (and strings): links nothing


@dataclass
class Chunk:
    start: int  # 0-based line of the module where it starts
    text: str  # its lines, each with its "\n"
    summary: Summary

    @property
    def lines(self) -> int:
        return self.text.count("\n")


@dataclass
class Checked:
    """A text that was checked, cut into chunks, with the results that lie in each chunk.

    `results` are the server's `Result`s (anything with `finding` and `place`), positioned in the module."""

    chunks: list[Chunk]
    results: list[list]
    owner: object  # what the results were computed under (the settings): a change of it means a full check
    checked: list[int] = field(default_factory=list)  # the chunks this text's check looked at (all: a full one)


@dataclass
class Plan:
    """How to check a new text: `text_to_check` (the chunks in `checked`, every other line blank); the results
    of the other chunks are `kept`, already moved to their new lines."""

    chunks: list[Chunk]
    checked: list[int]  # indexes into `chunks`
    text_to_check: str
    kept: list[list]  # per chunk: the kept results (empty for a checked chunk)


class Summaries:
    """Chunk summaries memoised by text, for one document (dropped when the chunk leaves the document)."""

    def __init__(self):
        self._by_text: dict[str, Summary | None] = {}

    def of(self, text: str) -> Summary | None:
        if text not in self._by_text:
            self._by_text[text] = summarise(text)
        return self._by_text[text]

    def keep_only(self, chunks: list[Chunk]) -> None:
        wanted = {chunk.text for chunk in chunks}
        self._by_text = {text: summary for text, summary in self._by_text.items() if text in wanted}


def cut(text: str, summaries: Summaries) -> list[Chunk] | None:
    """The chunks of `text`, or None when one of them does not parse on its own (a `def` line inside a
    triple-quoted string, a syntax error): the caller then checks the whole text."""
    if text.count("\r") != text.count("\r\n"):
        return None  # a lone "\r" ends a line for Python's parser, and chunks count lines by "\n"
    starts = [0]
    decorated = False  # the chunk begun by a decorator runs to its definition's end, not to its `def` line
    for match in _DEFINITION.finditer(text):
        at = match.start()
        if at == 0:
            decorated = match.group() == "@"
            continue
        if decorated and match.group() != "@":
            decorated = False
            continue
        if decorated:
            continue  # a second decorator of the same definition
        starts.append(at)
        decorated = match.group() == "@"
    starts.append(len(text))
    chunks, line = [], 0
    for begin, end in itertools.pairwise(starts):
        if begin == end:
            continue
        part = text[begin:end]
        summary = summaries.of(part)
        if summary is None:
            return None
        chunks.append(Chunk(line, part, summary))
        line += part.count("\n")
    return chunks


def summarise(text: str) -> Summary | None:
    """What one chunk binds and uses, from its own parse; None when it does not parse alone."""
    try:
        tree = ast.parse(text)
        scan = _Scan()
        for statement in tree.body:
            scan.visit(statement, frozenset(), True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    imports_only = all(isinstance(s, (ast.Import, ast.ImportFrom)) or _is_string(s) for s in tree.body)
    return Summary(frozenset(scan.binds), frozenset(scan.defines), frozenset(scan.names), frozenset(scan.attributes),
                   imports_only)


class _Scan:
    """One walk of a chunk. A name read inside a function where it is local (a parameter, or assigned there and
    not declared `global`) is that function's own and no use of a module-level name: Python decides that from
    the function's text alone. Getting a local wrong the other way (a use too many) only costs a link."""

    def __init__(self):
        self.binds: set[str] = set()
        self.defines: set[str] = set()
        self.names: set[str] = set()
        self.attributes: set[str] = set()

    def visit(self, node: ast.AST, local: frozenset[str], module: bool) -> None:
        """`local`: the names local to the enclosing functions; `module`: a store here binds a module-level name."""
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if module or not _dunder(node.name):
                self.defines.add(node.name)
            if module:
                self.binds.add(node.name)
            # Decorators, defaults, annotations and bases are evaluated where the definition stands.
            outside = [*node.decorator_list]
            if isinstance(node, ast.ClassDef):
                outside += [*node.bases, *(k.value for k in node.keywords)]
                for child in outside:
                    self.visit(child, local, module)
                for statement in node.body:  # a class body's names are not visible in its methods
                    self.visit(statement, local, False)
                return
            arguments = node.args
            outside += [d for d in (*arguments.defaults, *arguments.kw_defaults) if d is not None]
            outside += [a.annotation for a in _parameters(arguments) if a.annotation is not None]
            if node.returns is not None:
                outside.append(node.returns)
            for child in outside:
                self.visit(child, local, module)
            inner = local | _locals_of(node)
            for statement in node.body:
                self.visit(statement, inner, False)
            return
        if isinstance(node, ast.Lambda):
            for default in (*node.args.defaults, *node.args.kw_defaults):
                if default is not None:
                    self.visit(default, local, module)
            self.visit(node.body, local | {a.arg for a in _parameters(node.args)}, False)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            self.visit(node.generators[0].iter, local, module)  # evaluated outside the comprehension
            inner = local | {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
            for number, generator in enumerate(node.generators):
                if number:
                    self.visit(generator.iter, inner, False)
                for condition in generator.ifs:
                    self.visit(condition, inner, False)
            for part in ((node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)):
                self.visit(part, inner, False)
            return
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                if node.id not in local:
                    self.names.add(node.id)
            elif module:
                self.binds.add(node.id)
            return
        if isinstance(node, ast.NamedExpr):
            self.binds.add(node.target.id)  # may bind a module-level name even inside a comprehension
        elif isinstance(node, ast.Attribute):
            if not _dunder(node.attr):
                self.attributes.add(node.attr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if module:
                self.binds.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
            return
        elif isinstance(node, ast.Global):
            self.binds.update(node.names)
            return
        elif _is_string(node):
            return  # a docstring, or a string statement: prose, not names
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) <= _SHORT_STRING:
            self.names.update(_IDENTIFIER.findall(node.value))  # "Net" annotations, getattr(m, "step")
            self.attributes.update(_IDENTIFIER.findall(node.value))
        for child in ast.iter_child_nodes(node):
            self.visit(child, local, module)


def _parameters(arguments: ast.arguments) -> list[ast.arg]:
    found = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    return found + [a for a in (arguments.vararg, arguments.kwarg) if a is not None]


def _locals_of(function: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """The names local to `function`: its parameters and what its own body binds, less its `global`s (the bodies
    of functions, classes and comprehensions inside it are their own scopes)."""
    names = {a.arg for a in _parameters(function.args)}
    declared_global: set[str] = set()
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.Global):
            declared_global.update(node.names)
        stack.extend(ast.iter_child_nodes(node))
    return frozenset(names - declared_global)


def _is_string(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _dunder(name: str) -> bool:
    # `super().__init__()`, `x.__class__`: dunders are reached through the class's own name, which links.
    return name.startswith("__") and name.endswith("__")


def plan(before: Checked, text: str, summaries: Summaries) -> Plan | None:
    """How to check `text`, an edit of the text `before` describes; None when the whole text must be checked."""
    chunks = cut(text, summaries)
    if chunks is None:
        return None
    old = before.chunks
    # The edit lies between the chunks that are unchanged at the start and those unchanged at the end.
    head = 0
    while head < min(len(old), len(chunks)) and old[head].text == chunks[head].text:
        head += 1
    tail = 0
    while (tail < min(len(old), len(chunks)) - head
           and old[len(old) - 1 - tail].text == chunks[len(chunks) - 1 - tail].text):
        tail += 1
    edited_old = old[head:len(old) - tail]
    edited_new = list(range(head, len(chunks) - tail))
    shift = sum(c.lines for c in chunks[head:len(chunks) - tail]) - sum(c.lines for c in edited_old)

    # Kept chunks: the new index of each unchanged chunk and its results, moved.
    kept: list[list] = [[] for _ in chunks]
    seeds = set(edited_new)
    edited_from = old[head].start if head < len(old) else sum(c.lines for c in old)  # the old text's edited lines
    edited_to = edited_from + sum(c.lines for c in edited_old)
    for index in range(len(chunks)):
        if head <= index < len(chunks) - tail:
            continue
        old_index = index if index < head else index - len(chunks) + len(old)
        moved = shift if index >= head else 0
        results = before.results[old_index]
        if moved and any(LINE_REFERENCE.search(result.finding.message) for result in results):
            seeds.add(index)  # its message names a line, which may have moved
            continue
        kept[index] = [_moved(result, moved) if moved else _unmoved(result, edited_from, edited_to, shift)
                       for result in results]

    # Every chunk linked to the edit: through the names the edited text binds and uses now, and those it bound
    # and used before the edit (a removed call changes its callee's parameters; a removed chunk had links too).
    reached = _Links(chunks).closure(seeds, [chunk.summary for chunk in edited_old])
    checked = sorted(reached)
    total = max(1, sum(c.lines for c in chunks))
    if sum(chunks[i].lines for i in checked) > MOST * total:
        return None
    for index in checked:
        kept[index] = []
    return Plan(chunks, checked, text_of(chunks, checked), kept)


def text_of(chunks: list[Chunk], checked: list[int]) -> str:
    """The module with only `checked` and the chunks of imports in it: every other line blank."""
    included = set(checked) | {i for i, c in enumerate(chunks) if c.summary.imports_only}
    return "".join(c.text if i in included else "\n" * c.lines for i, c in enumerate(chunks))


class _Links:
    """Which chunks link to which, by the names they bind, define and read."""

    def __init__(self, chunks: list[Chunk]):
        self.chunks = chunks
        self.by_name: dict[str, list[int]] = {}  # a module-level name -> the chunks that bind it
        self.by_definition: dict[str, list[int]] = {}  # a function or class name -> the chunks defining one so named
        self.name_users: dict[str, list[int]] = {}
        self.attribute_users: dict[str, list[int]] = {}
        for index, chunk in enumerate(chunks):
            summary = chunk.summary
            if summary.imports_only:
                continue  # reached from its users, but links no further
            for names, table in ((summary.binds, self.by_name), (summary.defines, self.by_definition),
                                 (summary.names, self.name_users), (summary.attributes, self.attribute_users)):
                for name in names:
                    table.setdefault(name, []).append(index)

    def closure(self, seeds, extra: list[Summary] = ()) -> set[int]:
        """`seeds` and every chunk linked to them or to the `extra` summaries (the edited text's old ones),
        directly or through other chunks."""
        reached = set(seeds)
        frontier = list(seeds)

        def link(summary: Summary) -> None:
            # A name read may be any module-level binding of it; an attribute read, any function or class so
            # named (a method); and the other way round.
            for names, table in ((summary.names, self.by_name), (summary.names, self.by_definition),
                                 (summary.attributes, self.by_definition), (summary.binds, self.name_users),
                                 (summary.defines, self.name_users), (summary.defines, self.attribute_users)):
                for name in names:
                    for other in table.get(name, ()):
                        if other not in reached:
                            reached.add(other)
                            frontier.append(other)

        for summary in extra:
            link(summary)
        while frontier:
            link(self.chunks[frontier.pop()].summary)
        return reached


def pieces(chunks: list[Chunk], lines: int) -> list[list[int]]:
    """The chunks in groups that can be checked one at a time, each closed under links (so that a check of it
    alone finds what a check of the whole text finds in it), packed in order to about `lines` lines or more.
    Chunks of imports only are in no group: the text of every group has them."""
    links = _Links(chunks)
    groups: list[list[int]] = []
    current: list[int] = []
    size = 0
    done: set[int] = set()
    for index, chunk in enumerate(chunks):
        if index in done or chunk.summary.imports_only:
            continue
        component = links.closure([index])
        done |= component
        current += component
        size += sum(chunks[i].lines for i in component)
        if size >= lines:
            groups.append(sorted(current))
            current, size = [], 0
    if current:
        groups.append(sorted(current))
    return groups


def _unmoved(result, edited_from: int, edited_to: int, shift: int):
    """A result of a kept chunk that did not move, copied (the fix worker may still be filling in the old
    analysis's own). Its quick fix (replacements of the old text, computed from the whole module) stays only while
    every replacement lies in text the edit left where it was."""
    fix = result.fix
    if fix is not None and any(r.end_line >= edited_from and (shift or r.line <= edited_to) for r in fix):
        fix = None
    return replace(result, fix=fix)


def _moved(result, lines: int):
    """A result of a kept chunk, `lines` further down (a copy: the old analysis keeps its own)."""
    where = result.finding.range
    finding = replace(result.finding, range=Range(where.line + lines, where.column, where.end_line + lines,
                                                  where.end_column))
    place = result.place
    return replace(result, finding=finding, fix=None,
                   place=replace(place, line=place.line + lines, end_line=place.end_line + lines))


def assign(chunks: list[Chunk], results: list) -> list[list]:
    """`results` (positioned in the module) grouped by the chunk their first line lies in."""
    grouped: list[list] = [[] for _ in chunks]
    ends, line = [], 0
    for chunk in chunks:
        line += chunk.lines
        ends.append(line)
    for result in results:
        index = min(bisect.bisect_right(ends, result.place.line), len(chunks) - 1)
        grouped[index].append(result)
    return grouped
