"""Checks (and fixes) one file at a time: read, run the engine, write, and turn every failure into a message."""
from __future__ import annotations

from dataclasses import dataclass, field

from autofix import engine, source
from autofix.config import Settings
from autofix.rule import Applicability, Finding, Rule


@dataclass
class FileOutcome:
    path: str
    findings: list[Finding] = field(default_factory=list)  # remaining after fixing (all, when not fixing)
    fixed: list[Finding] = field(default_factory=list)
    before: str | None = None
    after: str | None = None  # the fixed text, when it differs
    bom: bool = False
    error: str | None = None  # why the file could not be checked or written (one line, without the path)
    internal_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Job:
    rules: tuple[type[Rule], ...]
    settings: Settings
    apply: frozenset[Applicability] = frozenset()
    write: bool = False

    def rules_for(self, path: str) -> tuple[type[Rule], ...]:
        ignored = self.settings.ignored_for(path)
        if not ignored:
            return self.rules
        return tuple(r for r in self.rules if not r.matches(ignored))


def applicable(settings: Settings, fix: bool, unsafe_fixes: bool) -> frozenset[Applicability]:
    if not fix:
        return frozenset()
    if unsafe_fixes or settings.unsafe_fixes:
        return frozenset({Applicability.SAFE, Applicability.UNSAFE})
    return frozenset({Applicability.SAFE})


def check_text(path: str, text: str, job: Job, outcome: FileOutcome) -> FileOutcome:
    outcome.before = text
    try:
        result = engine.check(text, job.rules_for(path), path=path, apply=job.apply)
    except engine.ParseFailure as failure:
        outcome.error = str(failure)
        return outcome
    except RecursionError:
        outcome.error = "too deeply nested to check"
        return outcome
    outcome.findings = result.findings
    outcome.fixed = result.fixed
    outcome.after = result.fixed_text
    outcome.internal_errors = result.internal_errors
    return outcome


def process_file(path: str, job: Job) -> FileOutcome:
    outcome = FileOutcome(path)
    try:
        src = source.read(path)
    except source.SourceError as error:
        outcome.error = str(error)
        return outcome
    outcome.bom = src.has_bom
    check_text(path, src.text, job, outcome)
    if job.write and outcome.after is not None and outcome.error is None:
        try:
            source.write_atomic(path, src, outcome.after)
        except source.SourceError as error:
            # Nothing was written, so what we meant to fix is still there: report the original findings.
            check_text(path, src.text, Job(job.rules, job.settings), outcome)
            outcome.fixed, outcome.after = [], None
            outcome.error = f"not written: {error}"
    return outcome
