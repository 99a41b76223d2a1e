"""The rule model: what a rule declares, what it reports, and what a fix is made of.

Rules record what to change (TorchFix's model); the engine applies every recorded fix in one pass.
A rule never touches files, flags or output formats: it sees one parsed module and reports findings.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import ClassVar, Iterable, Union

import libcst as cst
from libcst.metadata import CodeRange, ParentNodeProvider, PositionProvider


class Applicability(enum.Enum):
    """Who may apply a fix: `--fix` applies safe ones, `--unsafe-fixes` adds unsafe ones."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    NONE = "none"


class Effect(enum.Enum):
    """What a fix does to the program's behaviour (the validation harness checks this claim)."""

    PRESERVING = "preserving"  # same numerics; an idiom or safety change
    REPAIRING = "repairing"  # changes behaviour to what the code evidently meant


Replacement = Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel]


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


@dataclass
class Finding:
    code: str
    name: str
    message: str
    range: CodeRange
    fix: Fix | None = None

    @property
    def line(self) -> int:
        return self.range.start.line

    @property
    def column(self) -> int:  # 1-based, as editors and ruff print it
        return self.range.start.column + 1

    @property
    def end_line(self) -> int:
        return self.range.end.line

    @property
    def end_column(self) -> int:
        return self.range.end.column + 1


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
        for number, line in enumerate(source.splitlines(), start=1):
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


class Rule(cst.BatchableCSTVisitor):
    """Base class of every rule. Subclasses set the class attributes below and call `report()`.

    The class docstring is the rule's documentation, in ruff's shape:
    What it does / Why is this bad? / Example / Use instead / Fix safety.
    """

    code: ClassVar[str]
    name: ClassVar[str]  # kebab-case
    message: ClassVar[str]  # one line; a finding may refine it
    runtime: ClassVar[str]  # what really happens at runtime: the error raised, or "silent: ..."
    fix_applicability: ClassVar[Applicability]  # the best a finding of this rule may get
    fix_effect: ClassVar[Effect | None]
    # A cheap regular expression over the raw source: a file it does not match is never parsed for this rule.
    prefilter: ClassVar[re.Pattern[str]]
    examples: ClassVar[tuple[Valid | Invalid, ...]] = ()
    scenarios: ClassVar[tuple[Scenario, ...]] = ()

    METADATA_DEPENDENCIES = (PositionProvider, ParentNodeProvider)

    def __init__(self, context: FileContext):
        super().__init__()
        self.context = context
        self.findings: list[Finding] = []

    # --- helpers for subclasses -------------------------------------------------------------
    def position(self, node: cst.CSTNode) -> CodeRange:
        return self.get_metadata(PositionProvider, node)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.get_metadata(ParentNodeProvider, node, None)

    def is_suppressed(self, node: cst.CSTNode) -> bool:
        return (self.position(node).start.line, self.code) in self.context.suppressed

    def report(self, node: cst.CSTNode, message: str | None = None, fix: Fix | None = None) -> None:
        if self.is_suppressed(node):
            return
        self.findings.append(Finding(self.code, self.name, message or self.message, self.position(node), fix))

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
