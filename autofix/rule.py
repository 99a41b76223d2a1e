"""The rule model: what a rule declares, what it reports, and what a fix is made of.

Rules record what to change (TorchFix's model); the fix stage (`autofix.fixes`) applies every recorded fix in one pass.
A rule never touches files, flags or output formats: it sees one parsed module and reports findings.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Iterable, Union

from autofix.lazy import libcst as cst
from autofix.semantic import Range, SemanticModel

if TYPE_CHECKING:
    from autofix.fixes import (
        FixTree,  # what a fix builder is given (the fix stage owns it)
    )


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


class AllOf:
    """A prefilter that admits a file only when every one of its patterns occurs (each is searched once, in
    order: the rarest first keeps the common case to one scan). Duck-types `re.Pattern.search`. Faster than one
    pattern of anchored lookaheads (`\\A(?=[\\s\\S]*a)(?=[\\s\\S]*b)`), which the regex engine steps through
    character by character where a plain search jumps to a literal."""

    def __init__(self, *patterns: str):
        self.patterns = tuple(re.compile(p) for p in patterns)
        self.pattern = " & ".join(patterns)

    def search(self, text: str):
        found = None
        for pattern in self.patterns:
            found = pattern.search(text)
            if found is None:
                return None
        return found


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
