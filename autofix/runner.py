"""Checks (and fixes) one file at a time: run the engine, and turn every result or failure into plain data.

A FileOutcome holds no syntax tree: it is small, picklable and JSON-able, so it can come back from a worker
process or a Ray task and be stored in the cache.
"""
from __future__ import annotations

import gc
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from autofix import engine, notebook, source
from autofix.config import Settings
from autofix.diff import Row, changed_rows
from autofix.rule import Applicability, Effect, Finding, FixInfo, Rule
from autofix.semantic import index


@dataclass(frozen=True)
class Reported:
    """A finding as reported: positions are 1-based lines and columns (columns in characters).

    In a notebook, `cell` is the cell's number (from 1, counting every cell) and lines count within that cell.
    """

    code: str
    name: str
    message: str
    line: int
    column: int
    end_line: int
    end_column: int
    fix: FixInfo | None = None
    cell: int | None = None
    # What its own fix changes, applied by itself (Job.previews): rows of a small diff, lines numbered within
    # the file (the cell, in a notebook). None: not asked for, or no fix to show.
    preview: tuple[Row, ...] | None = None

    @classmethod
    def of(cls, finding: Finding) -> "Reported":
        fix = FixInfo(finding.fix.applicability, finding.fix.effect) if finding.fix else None
        return cls(finding.code, finding.name, finding.message, finding.line, finding.column,
                   finding.end_line, finding.end_column, fix)

    def to_dict(self) -> dict:
        data = asdict(self)
        if self.fix:
            data["fix"] = {"applicability": self.fix.applicability.value, "effect": self.fix.effect.value}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Reported":
        fix = data.get("fix")
        info = FixInfo(Applicability(fix["applicability"]), Effect(fix["effect"])) if fix else None
        preview = data.get("preview")
        return cls(**{**data, "fix": info, "preview": None if preview is None else tuple(map(tuple, preview))})


@dataclass
class FileOutcome:
    path: str
    findings: list[Reported] = field(default_factory=list)  # remaining after fixing (all, when not fixing)
    fixed: list[Reported] = field(default_factory=list)
    before: str | None = None
    after: str | None = None  # the fixed text, when it differs
    bom: bool = False
    error: str | None = None  # why the file could not be checked or written (one line, without the path)
    internal_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # one line each, without the path (fixes not rendered)
    depends: dict[str, str] = field(default_factory=dict)  # other files whose summaries the check used: digests

    def to_cache(self) -> dict:
        """What is worth remembering about a file's content (not its path, not its text)."""
        return {
            "findings": [f.to_dict() for f in self.findings],
            "fixed": [f.to_dict() for f in self.fixed],
            "after": self.after,
            "error": self.error,
            "internal_errors": self.internal_errors,
            "warnings": self.warnings,
            "depends": self.depends,
        }

    def from_cache(self, data: dict) -> "FileOutcome":
        self.findings = [Reported.from_dict(f) for f in data["findings"]]
        self.fixed = [Reported.from_dict(f) for f in data["fixed"]]
        self.after, self.error, self.internal_errors = data["after"], data["error"], list(data["internal_errors"])
        self.depends = dict(data.get("depends", {}))
        self.warnings = list(data.get("warnings", []))
        return self


@dataclass(frozen=True)
class Job:
    rules: tuple[type[Rule], ...]
    settings: Settings
    apply: frozenset[Applicability] = frozenset()
    write: bool = False
    summary_cache: str | None = None  # where the project index caches file summaries (None: not on disk)
    summaries: dict | None = None  # summaries made beforehand (the Ray executor's first phase), by path
    use_index: bool = True  # False: each file alone (`--no-index`)
    previews: bool = False  # without `apply`: each finding's own fix as a small diff (the full output format)

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


def check_text(path: str, text: str, job: Job, outcome: FileOutcome, digest: str | None = None) -> FileOutcome:
    """Check one file's text; `digest` (of its bytes) lets the project index learn its summary from this check."""
    outcome.before = text
    module = None
    if notebook.is_notebook(path):
        try:
            module = notebook.module_of(notebook.parse(text))
        except notebook.NotebookError as error:
            outcome.error = str(error)
            return outcome
        text = module.text
    project = _project_for(path, job)
    if project is not None:
        project.consulted = {}
    alone = PREVIEWED if job.previews and not job.apply else frozenset()
    try:
        result = engine.check(text, job.rules_for(path), path=path, apply=job.apply, max_size=job.settings.max_file_size,
                              project=project, alone=alone, digest=digest if module is None else None)
    except engine.ParseFailure as failure:
        outcome.error = str(failure) if module is None else module.locate_message(str(failure))
        return outcome
    except RecursionError:
        outcome.error = "too deeply nested to check"
        return outcome
    outcome.findings = [Reported.of(f) for f in result.findings]
    for n, fixed_text in result.alone.items():
        rows = _preview(module, text, outcome.before, fixed_text)
        if rows:
            outcome.findings[n] = replace(outcome.findings[n], preview=rows)
    outcome.fixed = [Reported.of(f) for f in result.fixed]
    outcome.after = result.fixed_text
    outcome.internal_errors = result.internal_errors
    outcome.warnings = result.warnings
    if project is not None:
        own = os.path.realpath(path)
        outcome.depends = {p: d for p, d in project.consulted.items() if os.path.realpath(p) != own}
    if module is not None:
        _into_cells(module, outcome, job)
    return outcome


def _project_for(path: str, job: Job):
    """The project index the file at `path` sees: summaries made beforehand, or made here on demand."""
    if not job.use_index:
        return None
    if job.summaries is not None and not Path(path).is_file():
        # A Ray worker without the project's files: the summaries the driver made are all it knows, so analyses
        # that read another file's source (a call followed into it, its callers) stay within the file.
        return _preloaded_index(job)
    # Where the files are readable (one machine, or a shared filesystem), the index reads them as a local run
    # does, so that a Ray run reports exactly what a local one does.
    return index.index_for(path, Path(job.summary_cache) if job.summary_cache else None)


_PRELOADED: dict[int, object] = {}


def _preloaded_index(job: Job):
    key = id(job.summaries)
    if key not in _PRELOADED:
        _PRELOADED.clear()
        _PRELOADED[key] = index.ProjectIndex.preloaded(job.summaries)
    return _PRELOADED[key]


PREVIEWED = frozenset({Applicability.SAFE, Applicability.UNSAFE})  # an unsafe fix is shown too, and says so


def _preview(module: notebook.Module | None, text: str, original: str, fixed_text: str) -> tuple[Row, ...] | None:
    """The diff rows of one fix applied alone; in a notebook, of the one cell it changes (magics shown as written)."""
    if module is None:
        return changed_rows(text, fixed_text)
    try:
        fixed_notebook = module.fixed_notebook(fixed_text)
    except notebook.NotebookError:
        return None  # a fix that crosses cells is refused anyway
    cells = notebook.changed_cells(original, fixed_notebook) if fixed_notebook is not None else []
    if len(cells) != 1:
        return None
    _, old, new = cells[0]
    return changed_rows(old, new)


def _into_cells(module: notebook.Module, outcome: FileOutcome, job: Job) -> None:
    """Give a notebook's findings cell positions, and its fixed module back as notebook JSON."""
    if outcome.after is not None:
        try:
            outcome.after = module.fixed_notebook(outcome.after)
        except notebook.NotebookError as error:
            # Refused rather than written: report what is there, unfixed, and say why as an internal error.
            errors = [*outcome.internal_errors, str(error)]
            check_text(outcome.path, outcome.before, Job(job.rules, job.settings), outcome)
            outcome.fixed, outcome.after, outcome.internal_errors = [], None, errors
            return
    # What remains is positioned in the fixed text; what was fixed, in the text as it was.
    fixed_module = module if outcome.after is None else notebook.module_of(notebook.parse(outcome.after))
    outcome.findings = [_in_cell(fixed_module, f) for f in outcome.findings]
    outcome.fixed = [_in_cell(module, f) for f in outcome.fixed]


def _in_cell(module: notebook.Module, finding: Reported) -> Reported:
    cell, line = module.locate(finding.line)
    end_cell, end_line = module.locate(finding.end_line)
    if end_cell != cell:  # cannot span cells; keep the end inside the cell
        end_line, end_column = line, finding.column
    else:
        end_column = finding.end_column
    return replace(finding, cell=cell, line=line, end_line=end_line, end_column=end_column,
                   message=module.message_in_cells(finding.message, cell))


def check_batch(job: Job, batch: list[tuple[str, str] | tuple[str, str, str]]) -> list[FileOutcome]:
    """Check (path, text) pairs, or (path, text, digest of its bytes) triples; runs in worker processes and Ray
    tasks, so it returns no source text."""
    tune_gc()
    outcomes = []
    for path, text, *digest in batch:
        outcome = check_text(path, text, job, FileOutcome(path), digest[0] if digest else None)
        outcome.before = None  # the caller has it; do not ship it back
        outcomes.append(outcome)
    return outcomes


def write_fix(outcome: FileOutcome, src: source.Source, job: Job) -> None:
    """Write the fixed text; if that fails, the outcome says so and reports the findings as still there."""
    if not (job.write and outcome.after is not None and outcome.error is None):
        return
    try:
        source.write_atomic(outcome.path, src, outcome.after)
    except source.SourceError as error:
        # Nothing was written, so what we meant to fix is still there: report the original findings.
        check_text(outcome.path, src.text, Job(job.rules, job.settings), outcome)
        outcome.fixed, outcome.after = [], None
        outcome.error = f"not written: {error}"


_gc_tuned = False


def tune_gc() -> None:
    """Make the cyclic garbage collector run rarely: checking a file allocates hundreds of thousands of `ast`
    nodes and model entries, none of them in reference cycles (the model keeps parents in a dict), so the
    default thresholds made the collector rescan them over and over (on torch-geometric, `--diff` used about 7%
    less CPU without that). Objects that exist now (the imported modules) are frozen out of its scans altogether."""
    global _gc_tuned
    if not _gc_tuned:
        _gc_tuned = True
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
