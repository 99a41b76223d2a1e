"""The rule model: what a rule declares, what it reports, and what a fix is made of.

Rules record what to change (TorchFix's model); the engine applies every recorded fix in one pass.
A rule never touches files, flags or output formats: it sees one parsed module and reports findings.
"""
from __future__ import annotations

import ast
import enum
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Iterable, Union

from autofix.diff import split_lines
from autofix.lazy import libcst as cst
from autofix.semantic import Range, SemanticModel

if TYPE_CHECKING:
    from autofix.cst_positions import TreeState  # imports LibCST: only where positions are computed


class Applicability(enum.Enum):
    """Who may apply a fix: `--fix` applies safe ones, `--unsafe-fixes` adds unsafe ones."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    NONE = "none"


class Effect(enum.Enum):
    """What a fix does to the program's behaviour (the validation harness checks this claim)."""

    PRESERVING = "preserving"  # same numerics; an idiom or safety change
    REPAIRING = "repairing"  # changes behaviour to what the code evidently meant


Replacement = Union["cst.CSTNode", "cst.RemovalSentinel", "cst.FlattenSentinel"]


@dataclass(frozen=True)
class Edit:
    """Replace one node of the parsed module (compared by identity) with another, or remove it."""

    target: cst.CSTNode
    replacement: Replacement


@dataclass(frozen=True)
class AddImport:
    """Insert `statement` (e.g. "import torch") at the top of `scope` (a Module or FunctionDef body).

    The scope is chosen by the rule so that a lazily importing function keeps importing lazily.
    """

    scope: cst.CSTNode
    statement: str


@dataclass(eq=False)
class Fix:
    """A set of edits that must be applied together (or not at all)."""

    edits: tuple[Edit, ...]
    applicability: Applicability
    effect: Effect
    imports: tuple[AddImport, ...] = ()


@dataclass(frozen=True)
class FixInfo:
    """What a finding's fix will be, known at detection time; the edits are built only when applying."""

    applicability: Applicability
    effect: Effect


@dataclass(eq=False)
class Finding:
    code: str
    name: str
    message: str
    range: "Range"
    fix: FixInfo | None = None  # the fix this finding offers (None: report only)
    data: object = None  # whatever the rule's fix builder needs from detection (rule-private)
    rule: "Rule | None" = field(default=None, repr=False)  # the instance that found it (builds its fix)
    built: Fix | None = field(default=None, repr=False)  # the edits, once built

    @property
    def line(self) -> int:
        return self.range.line

    @property
    def column(self) -> int:  # 1-based, as editors and ruff print it
        return self.range.column + 1

    @property
    def end_line(self) -> int:
        return self.range.end_line

    @property
    def end_column(self) -> int:
        return self.range.end_column + 1

    def __eq__(self, other) -> bool:
        return isinstance(other, Finding) and (self.code, self.message, self.range, self.fix) == (
            other.code, other.message, other.range, other.fix
        )

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Valid:
    """Code the rule must leave alone, and why (a deliberate detach, a non-tensor `.data`, ...)."""

    code: str
    reason: str


@dataclass(frozen=True)
class Invalid:
    """Code the rule must report; `after` is the expected output of `--fix` (None: no safe fix).

    `unsafe_after` is the expected output with `--unsafe-fixes`, for rules whose fix is unsafe.
    """

    code: str
    after: str | None = None
    reason: str = ""
    unsafe_after: str | None = None


@dataclass(frozen=True)
class Scenario:
    """A small, runnable training program that contains the rule's bug, for the validation harness.

    The harness produces the fixed program by running the rule itself on `source`, runs both in separate
    processes, and checks the rule's declared effect. The program reads its device from the environment
    variable AUTOFIX_DEVICE ("cpu" or "cuda") and seeds nothing itself (the harness does).
    """

    name: str
    source: str


class FileContext:
    """What the engine tells a rule about the file it is looking at."""

    def __init__(self, path: str, suppressed: "SuppressionIndex"):
        self.path = path
        self.suppressed = suppressed
        # Scratch space shared by the rules of one pass over one tree, so that an analysis several rules
        # need (a dataflow walk, an import index) is computed once.
        self.cache: dict = {}


class SuppressionIndex:
    """`# autofix: ignore[...]` / `# noqa: ...` comments by line number."""

    _PATTERN = re.compile(
        r"#\s*(?:autofix:\s*ignore|noqa)(?P<codes>\s*(?:\[[^\]]*\]|:\s*[A-Za-z0-9_,\- ]+))?",
        re.IGNORECASE,
    )
    ALL = frozenset({"*"})

    def __init__(self, source: str):
        self._by_line: dict[int, frozenset[str]] = {}
        if "noqa" not in source and "autofix" not in source:
            return  # the common case costs one substring scan
        for number, line in enumerate(source.split("\n"), start=1):
            if "#" not in line:
                continue
            match = self._PATTERN.search(line)
            if not match:
                continue
            codes = match.group("codes")
            if not codes:
                self._by_line[number] = self.ALL
                continue
            names = re.split(r"[\s,]+", codes.strip().strip(":[]").strip())
            self._by_line[number] = frozenset(n.upper() for n in names if n)

    def __contains__(self, line_and_code: tuple[int, str]) -> bool:
        line, code = line_and_code
        codes = self._by_line.get(line)
        return codes is not None and (codes is self.ALL or code.upper() in codes)


class Rule:
    """Base class of every rule. Subclasses set the class attributes below, implement `check()` (detection,
    on the semantic model) and, when they offer fixes, `fix()` (edits, on LibCST).

    The class docstring is the rule's documentation, in ruff's shape:
    What it does / Why is this bad? / Example / Use instead / Fix safety.
    """

    code: ClassVar[str]
    name: ClassVar[str]  # kebab-case
    message: ClassVar[str]  # one line; a finding may refine it
    runtime: ClassVar[str]  # what really happens at runtime: the error raised, or "silent: ..."
    fix_applicability: ClassVar[Applicability]  # the best a finding of this rule may get
    fix_effect: ClassVar[Effect | None]
    # A cheap regular expression over the raw source: a file it does not match is never analysed for this rule.
    # It must be sound (match every file the rule could fire on); it never decides a finding.
    prefilter: ClassVar[re.Pattern[str]]
    # Preview rules (heuristics, or shapes that are harmless on some paths) run only when asked for:
    # `--preview`, `preview = true`, or selecting the rule by its exact code.
    preview: ClassVar[bool] = False
    examples: ClassVar[tuple[Valid | Invalid, ...]] = ()
    scenarios: ClassVar[tuple[Scenario, ...]] = ()

    def __init__(self, context: FileContext):
        self.context = context
        self.findings: list[Finding] = []
        self.model: SemanticModel | None = None

    # --- detection ------------------------------------------------------------------------------
    def check(self, model: SemanticModel) -> None:
        """Find this rule's problems in `model` and `report()` each one."""
        raise NotImplementedError

    def report(
        self,
        node,
        message: str | None = None,
        fix: Applicability | None = None,
        data: object = None,
        effect: Effect | None = None,
    ) -> None:
        """Report a problem at `node` (an `ast` node, or a Range). `fix` says what fix it offers, if any:
        the rule's `fix()` builds it later, only when fixes are applied."""
        where = node if isinstance(node, Range) else self.model.range(node)
        if self.is_suppressed(where.line):
            return
        info = None
        if fix is not None and fix is not Applicability.NONE:
            info = FixInfo(fix, effect or self.fix_effect)
        self.findings.append(Finding(self.code, self.name, message or self.message, where, info, data, self))

    def is_suppressed(self, line: int) -> bool:
        return (line, self.code) in self.context.suppressed

    # --- fixing ---------------------------------------------------------------------------------
    def fix(self, finding: Finding, tree: "FixTree") -> Fix | None:
        """The edits for `finding`, built on LibCST: `tree.node_at(finding.range, cst.Call)` is the node of
        that type at the finding's range; `tree` also answers parents, scopes and imports.
        Return None to leave the finding unfixed.

        A rule whose one fix covers several findings (adjacent writes joined into one block) builds only
        `finding`'s part when `tree.alone is finding`: the engine is then rendering that finding's own fix by
        itself (a preview, or a review suggestion that must stay on the lines a pull request adds).
        LibCST is imported on first use (`autofix.lazy`): module-level code of a rule must not touch `cst`."""
        return None

    @classmethod
    def documentation(cls) -> str:
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def matches(cls, selectors: Iterable[str]) -> bool:
        """True when any selector names this rule: ALL, a code prefix ("GF", "GF1", "GF101") or the name."""
        for selector in selectors:
            s = selector.strip()
            if s.upper() == "ALL" or cls.code.startswith(s.upper()) or s.lower() == cls.name:
                return True
        return False

    @classmethod
    def named_exactly(cls, selectors: Iterable[str]) -> bool:
        """True when a selector is this rule's exact code or name (which selects a preview rule too)."""
        return any(s.strip().upper() == cls.code or s.strip().lower() == cls.name for s in selectors)


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
        self._by_range: dict[tuple[int, int, int, int], list[cst.CSTNode]] | None = None
        self._lines: list[str] | None = None
        # The finding whose own fix is being built by itself, or None when fixes are built to be applied
        # together (see Rule.fix).
        self.alone: Finding | None = None
        if syntax is None:
            self._compute_all()

    def _compute_all(self) -> None:
        # Positions, parents and depths in one code-generation pass. LibCST's MetadataWrapper would resolve
        # PositionProvider and ParentNodeProvider in two whole-module traversals; on the large files that have
        # fixes, those two were most of the time `--diff` spent (see docs/performance.md).
        from autofix.cst_positions import TreeState

        state = TreeState(self.module)
        self.module._codegen(state)
        self._absorb(state)
        if self._text is None:
            self._text = "".join(state.tokens)  # the module's code, which that pass generated anyway
        self._complete = True

    def _absorb(self, state: TreeState) -> None:
        self._positions.update(state.provider._computed)
        self._parents.update(state.parents)
        self._depths.update(state.depths)
        self._by_range = None

    def _cover(self, where: Range) -> None:
        """Compute positions for the statement holding `where` (or for everything, if it cannot be located)."""
        if self._complete:
            return
        from autofix.cst_positions import locate

        region = locate(self.module, self._syntax, where.line, where.end_line)
        if region is None:
            self._compute_all()
        elif id(region.statement) not in self._regions:
            self._regions.add(id(region.statement))
            self._absorb(region.generate(self.module))

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        if node not in self._parents and node is not self.module and not self._complete:
            self._compute_all()  # a node outside the statements computed so far
        return self._parents.get(node)

    def position(self, node: cst.CSTNode):
        if node not in self._positions and not self._complete:
            self._compute_all()
        return self._positions[node]

    def _index(self) -> dict[tuple[int, int, int, int], list[cst.CSTNode]]:
        if self._by_range is None:
            index: dict[tuple[int, int, int, int], list[cst.CSTNode]] = {}
            for node, where in self._positions.items():
                key = (where.start.line, where.start.column, where.end.line, where.end.column)
                index.setdefault(key, []).append(node)
            for nodes in index.values():
                if len(nodes) > 1:
                    nodes.sort(key=self._depths.__getitem__)
            self._by_range = index
        return self._by_range

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
        exact = self._index().get((where.line, where.column, where.end_line, where.end_column))
        if exact:
            # An indented block that holds one statement has that statement's range; it is never what a finding
            # means (and the statements-only positions do not compute it).
            return [n for n in exact if not isinstance(n, cst.IndentedBlock) and wanted in self._code(n)]
        innermost, depth = None, -1
        for node, at in self._positions.items():
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
