"""A file's fixes as suggestions: line ranges of the file, their replacement lines, and the findings they fix.

The engine applies every fix at once and returns the fixed text; difflib on lines says which blocks changed.
Each block is tied to the findings whose fixes made it: a run of the engine with one rule shows which blocks
that rule's fixes make, and within one rule a block goes to the finding it overlaps, else the nearest one.
Blocks tied to the same finding (a statement moved down, an import added above) become one suggestion, so
that applying any subset of the suggestions gives code that still means what its fixes mean, and applying
all of them gives exactly the fixed text.

Each finding's own fix, applied by itself (engine.check(alone=...)), is also kept as a suggestion of its own
(`own`): a pull request that adds a bug next to an old one gets a suggestion for the new bug alone, where the
fixes joined into one (GF101's single `with torch.no_grad():` block for adjacent writes) would reach the old line.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from autofix import engine
from autofix.diff import split_lines
from autofix.rule import Applicability, Rule
from autofix.runner import Reported


@dataclass(frozen=True)
class Suggestion:
    start: int  # first replaced line, 1-based
    end: int  # last replaced line, inclusive
    old: tuple[str, ...]  # the replaced lines, line endings included
    new: tuple[str, ...]  # what replaces them (empty for a pure deletion; an insertion keeps a neighbouring line)
    findings: tuple[Reported, ...]  # the findings whose fixes this is, by position

    @property
    def unsafe(self) -> bool:
        return any(f.fix and f.fix.applicability is Applicability.UNSAFE for f in self.findings)


@dataclass
class FileAnalysis:
    findings: list[Reported]  # every finding, positioned in the analysed text
    suggestions: list[Suggestion]
    internal_errors: list[str] = field(default_factory=list)  # a rule that crashed, a fix dropped: autofix bugs
    own: dict[Reported, Suggestion] = field(default_factory=dict)  # a fixable finding -> its fix by itself

    def suggestion_of(self, finding: Reported) -> Suggestion | None:
        return next((s for s in self.suggestions if finding in s.findings), None)


def analyse(
    path: str,
    text: str,
    rules: tuple[type[Rule], ...],
    apply: frozenset[Applicability],
    max_size: int = engine.MAX_FILE_SIZE,
    prefer: set[int] | frozenset[int] | None = None,
    own_within: frozenset[int] | None = None,
) -> FileAnalysis:
    """Every finding in `text`, and the fixes at the `apply` levels as suggestions. Raises engine.ParseFailure.

    `prefer`: lines a suggestion that must borrow a neighbouring line (a pure insertion) should
    borrow when it can (a pull request's added lines, so that the suggestion stays on them).
    `own_within`: each finding's own fix (`FileAnalysis.own`) is rendered only for the findings that lie within these
    lines (the only ones a review may show it for); None: for every finding.
    """
    where = None if own_within is None else (lambda f: own_within.issuperset(range(f.line, f.end_line + 1)))
    plain = engine.check(text, rules, path=path, max_size=max_size, alone=apply, alone_where=where)
    findings = [Reported.of(f) for f in plain.findings]
    fixable = [f for f in plain.findings if f.fix and f.fix.applicability in apply]
    if not fixable:
        return FileAnalysis(findings, [], plain.internal_errors)
    own: dict[Reported, Suggestion] = {}
    for n, alone_text in plain.alone.items():
        mine = suggest(text, alone_text, [findings[n]], [[_own_lines(findings[n])]], prefer)
        if len(mine) == 1:  # one finding's changed blocks always make one suggestion
            own[findings[n]] = mine[0]
    result = engine.check(text, rules, path=path, apply=apply, max_size=max_size)
    errors = list(dict.fromkeys(plain.internal_errors + result.internal_errors))
    fixed = result.fixed_text
    if fixed is None:
        return FileAnalysis(findings, [], errors, own)
    by_code = {rule.code: rule for rule in rules}
    footprints: list[list[tuple[int, int]]] = [[_own_lines(f)] for f in fixable]
    for code in sorted({f.code for f in fixable}):
        mine = [n for n, f in enumerate(fixable) if f.code == code]
        alone = engine.check(text, (by_code[code],), path=path, apply=apply, max_size=max_size).fixed_text
        for _, i1, i2, _, _ in _changes(text, alone or text):
            for n in _owners(i1, i2, mine, fixable):
                footprints[n].append((i1, i2))
    return FileAnalysis(findings, suggest(text, fixed, [Reported.of(f) for f in fixable], footprints, prefer), errors, own)


def suggest(
    before: str,
    after: str,
    fixable: list[Reported],
    footprints: list[list[tuple[int, int]]],
    prefer: set[int] | frozenset[int] | None = None,
) -> list[Suggestion]:
    """Cut the change from `before` to `after` into suggestions, tying blocks to findings by their footprints.

    `footprints[n]`: the 0-based half-open line ranges of `before` that the fix of `fixable[n]` touches.
    """
    old, new = split_lines(before), split_lines(after)
    ops = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    owners: dict[int, list[int]] = {}  # finding -> the indices of its changed blocks in `ops`
    for k, (tag, i1, i2, _, _) in enumerate(ops):
        if tag == "equal":
            continue
        tied = [n for n, spans in enumerate(footprints) if any(_touch(i1, i2, a, b) for a, b in spans)]
        for n in tied or _owners(i1, i2, range(len(fixable)), fixable):
            owners.setdefault(n, []).append(k)
    # A suggestion spans whole runs of ops: from a finding's first block to its last, and runs that overlap merge.
    runs = sorted([min(ks), max(ks), {n}] for n, ks in owners.items())
    merged: list[list] = []
    for run in runs:
        if merged and run[0] <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], run[1])
            merged[-1][2] |= run[2]
        else:
            merged.append(run)
    blocks = [_widen(ops, k1, k2, len(old), prefer) + (found,) for k1, k2, found in merged]
    # Borrowing a neighbour line can make two suggestions meet on one line: then they are one suggestion.
    joined: list[tuple[int, int, int, int, set[int]]] = []
    for i1, i2, j1, j2, found in blocks:
        if joined and i1 < joined[-1][1]:
            p1, _, q1, _, other = joined.pop()
            i1, j1, found = p1, q1, found | other
        joined.append((i1, i2, j1, j2, found))
    return [
        Suggestion(i1 + 1, i2, tuple(old[i1:i2]), tuple(new[j1:j2]),
                   tuple(sorted((fixable[n] for n in found), key=lambda f: (f.line, f.column, f.code))))
        for i1, i2, j1, j2, found in joined
        if i2 > i1
    ]


def apply(text: str, suggestions: list[Suggestion]) -> str:
    """`text` with `suggestions` applied (each replaces whole lines), as a reviewer clicking each one gets it."""
    lines = split_lines(text)
    for suggestion in sorted(suggestions, key=lambda s: s.start, reverse=True):
        if tuple(lines[suggestion.start - 1:suggestion.end]) != suggestion.old:
            raise ValueError(f"suggestion at lines {suggestion.start}-{suggestion.end} does not match the text")
        lines[suggestion.start - 1:suggestion.end] = suggestion.new
    return "".join(lines)


def _changes(before: str, after: str) -> list[tuple[str, int, int, int, int]]:
    matcher = difflib.SequenceMatcher(None, split_lines(before), split_lines(after), autojunk=False)
    return [op for op in matcher.get_opcodes() if op[0] != "equal"]


def _own_lines(finding) -> tuple[int, int]:
    return finding.line - 1, finding.end_line


def _touch(i1: int, i2: int, a: int, b: int) -> bool:
    """Do line ranges [i1, i2) and [a, b) overlap? An empty range (an insertion point) touches its neighbours."""
    low, high = max(i1, a), min(i2, b)
    return low < high or (low == high and (i1 == i2 or a == b))


def _owners(i1: int, i2: int, candidates, findings) -> list[int]:
    """The candidate findings a block at [i1, i2) belongs to: those it overlaps, else the nearest (earliest on a tie)."""
    candidates = list(candidates)
    overlapping = [n for n in candidates if _touch(i1, i2, *_own_lines(findings[n]))]
    if overlapping:
        return overlapping

    def distance(n: int) -> tuple[int, int]:
        a, b = _own_lines(findings[n])
        return (a - i2 if a >= i2 else i1 - b), a

    return [min(candidates, key=distance)] if candidates else []


def _widen(ops, k1: int, k2: int, size: int, prefer) -> tuple[int, int, int, int]:
    """The line ranges of ops k1..k2; an insertion borrows one unchanged neighbouring line.

    A suggestion replaces at least one existing line: GitHub, GitLab and reviewdog cannot anchor an insertion
    between two lines. A pure deletion needs no neighbour: an empty suggestion block deletes the lines it is on
    (and a borrowed neighbour would put the comment on a line the pull request may not have written).
    """
    i1, i2, j1, j2 = ops[k1][1], ops[k2][2], ops[k1][3], ops[k2][4]
    if i1 < i2:
        return i1, i2, j1, j2
    above = k1 > 0  # the op before is an unchanged run (difflib alternates equal and changed runs)
    below = k2 + 1 < len(ops)
    if above and below and prefer is not None and i1 not in prefer and (i2 + 1) in prefer:
        above = False  # line i1 (1-based) is the one above; borrow the one below, which the PR added
    if above:
        return i1 - 1, i2, j1 - 1, j2
    if below:
        return i1, i2 + 1, j1, j2 + 1
    return i1, i2, j1, j2  # the whole file changed: nothing to borrow (an empty file gets no suggestion)
