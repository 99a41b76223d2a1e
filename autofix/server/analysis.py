"""What the language server asks of the engine, in the engine's terms: no LSP types here.

Every check of an editor's document goes through `analyse()`, the server's one call into the engine, so that
an editor sees exactly what `autofix` on the command line reports for the same text and configuration (the
same rules, per-file ignores, preview tier and size limit), and so that knowledge across files can be wired
in at one place. A document is a Python file or a notebook open as cells; a notebook's code cells are one
module, as on the command line (`autofix/notebook.py`).
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

from autofix import engine, notebook
from autofix.config import Settings
from autofix.diff import split_lines
from autofix.registry import select_rules
from autofix.rule import Applicability, Finding
from autofix.runner import Job, applicable
from autofix.semantic.index import index_for
from autofix.server import incremental


@dataclass(frozen=True)
class Place:
    """A position range in one piece of text (a file, or one notebook cell): 0-based lines, code-point columns."""

    part: int  # the cell's index among the notebook's cells; 0 for a file
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Replacement:
    """Replace text[start:end] of one part (a file, or a notebook cell) with `text`; positions as in Place."""

    part: int
    line: int
    column: int
    end_line: int
    end_column: int
    text: str


@dataclass
class Result:
    """What one finding is, where it is, and (once computed) its own fix as replacements."""

    finding: Finding
    place: Place
    fix: list[Replacement] | None = None


@dataclass
class Analysis:
    """One version of one document, checked. `error` (one line) when it could not be checked."""

    parts: list[str | None]  # the text of each part: the file, or each cell (None for a cell that is not code)
    path: str
    settings: Settings
    module_text: str = ""  # what the engine saw: the file, or the notebook's code cells as one module
    results: list[Result] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    error: str | None = None
    module: notebook.Module | None = None
    generation: int = -1  # the server's count of the document's changes when this text was checked
    serial: int = 0  # names this analysis in the diagnostics' `data` (a full check may replace a partial one)
    # True when only the chunks an edit can change were checked (`analyse_edit`): the others' results are copies
    # of an earlier analysis's, moved, and they build no fix: a full check replaces it once typing pauses.
    partial: bool = False
    chunks: incremental.Checked | None = None  # the text cut into chunks, with each chunk's results
    _lines: dict[int, list[str]] = field(default_factory=dict, repr=False)
    _fixed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def lines(self, part: int) -> list[str]:
        """The lines of one part, split at "\n" as the engine counts them (computed once per part)."""
        if part not in self._lines:
            self._lines[part] = (self.parts[part] or "").split("\n")
        return self._lines[part]

    def quick_fixes(self, unsafe: bool) -> list[str]:
        """Give every result its own fix (safe ones; unsafe ones too with `unsafe`), computed once: LibCST is
        parsed here, off the path that publishes findings. Returns the internal errors it met."""
        with self._lock:
            if self._fixed or self.error is not None or self.partial:
                return []
            self._fixed = True
            allowed = applicable(self.settings, True, unsafe)
            fixed, errors = engine.fix_each(self.module_text, [r.finding for r in self.results], self.path, allowed)
            texts = {id(finding): text for finding, text in fixed}
            for result in self.results:
                text = texts.get(id(result.finding))
                if text is not None and result.fix is None:
                    result.fix = self._replacements(text, errors)
            return errors

    def quick_fix(self, result: Result, unsafe: bool) -> tuple[list[Replacement] | None, list[str]]:
        """One result's own fix, at once: for a code action that comes before `quick_fixes` has run (one LibCST
        parse and one rendering, instead of every finding's)."""
        if result.fix is not None or self.error is not None or self.partial:
            return result.fix, []
        allowed = applicable(self.settings, True, unsafe)
        fixed, errors = engine.fix_each(self.module_text, [result.finding], self.path, allowed)
        if fixed:
            result.fix = self._replacements(fixed[0][1], errors)
        return result.fix, errors

    def fix_all(self, unsafe: bool) -> tuple[list[Replacement], list[str]]:
        """The replacements that `autofix --fix` (with `--unsafe-fixes` when `unsafe`) would make."""
        if self.error is not None or self.partial:
            return [], []
        allowed = applicable(self.settings, True, unsafe)
        fixed = analyse(self.parts, self.path, self.settings, notebook_document=self.module is not None, apply=allowed)
        errors = list(fixed.internal_errors)
        if fixed.error is not None or not fixed.module_text or fixed.module_text == self.module_text:
            return [], errors + ([fixed.error] if fixed.error else [])
        return self._replacements(fixed.module_text, errors), errors

    def _replacements(self, fixed_module: str, errors: list[str]) -> list[Replacement]:
        if self.module is None:
            return diff_replacements(0, self.parts[0] or "", fixed_module)
        try:
            cells = self.module.fixed_cells(fixed_module)
        except notebook.NotebookError as error:
            errors.append(str(error))
            return []
        return [r for index, text in sorted(cells.items()) for r in diff_replacements(index, self.parts[index] or "", text)]


def analyse(parts: list[str], path: str, settings: Settings, notebook_document: bool = False,
            apply: frozenset[Applicability] = frozenset(), checked_text: str | None = None) -> Analysis:
    """Check one document: a file's text (`parts` of one), or a notebook's cells in order (None for a cell that is
    not code). With `apply`, fix it to a fixpoint as `autofix --fix` does; the fixed module's text is then
    `module_text`. With `checked_text` (a file's text with some chunks blanked, see `analyse_edit`), the engine
    checks that instead, while the project index still sees the whole text.

    The one place the server runs the engine (the project index joins here). Raises nothing for bad input: a
    document that cannot be checked comes back with `error`.
    """
    module = None
    analysis = Analysis(list(parts), path, settings)
    text = (parts[0] or "") if parts else ""
    if notebook_document:
        module = notebook.module_of(notebook.from_sources(list(parts)))
        text = module.text
    analysis.module = module
    rules = Job(select_rules(settings.select, settings.ignore, settings.preview), settings).rules_for(path)
    # What the project's other files define, with the editor's text for the open ones (set by the server).
    project = index_for(path) if os.path.isabs(path) else None
    if project is not None and module is None:
        project.use_text(path, text)
    try:
        problem = unreadable(text)
        if problem is not None:
            raise engine.ParseFailure(problem)
        result = engine.check(text if checked_text is None else checked_text, rules, path=path, apply=apply,
                              max_size=settings.max_file_size, project=project)
    except engine.ParseFailure as failure:
        analysis.error = str(failure) if module is None else module.locate_message(str(failure))
        return analysis
    except RecursionError:
        analysis.error = "too deeply nested to check"
        return analysis
    analysis.internal_errors = list(result.internal_errors)
    analysis.module_text = result.fixed_text if apply and result.fixed_text is not None else text
    for finding in result.findings:
        analysis.results.append(Result(finding, _place(finding, module)))
    return analysis


def analyse_edit(before: incremental.Checked, text: str, path: str, settings: Settings,
                 summaries: incremental.Summaries) -> Analysis | None:
    """Check a file's new text where an edit of the text `before` describes can change findings (see
    `incremental.py`): a partial analysis, or None when the whole text must be checked (`analyse`)."""
    if before.owner is not settings or len(text) > settings.max_file_size:
        return None  # the configuration changed (every finding may have), or the whole text's check must refuse
    planned = incremental.plan(before, text, summaries)
    if planned is None:
        return None
    analysis = Analysis([text], path, settings, module_text=text, partial=True)
    found: list[list[Result]] = [[] for _ in planned.chunks]
    if planned.checked:
        checked = analyse([text], path, settings, checked_text=planned.text_to_check)
        if checked.error is not None:
            return None  # the chunks parse alone but not together: let the whole text say why
        analysis.internal_errors = checked.internal_errors
        found = incremental.assign(planned.chunks, checked.results)
    wanted = set(planned.checked)
    per_chunk = [found[i] if i in wanted else planned.kept[i] for i in range(len(planned.chunks))]
    analysis.results = sorted((r for results in per_chunk for r in results),
                              key=lambda r: (r.finding.line, r.finding.column, r.finding.code))
    analysis.chunks = incremental.Checked(planned.chunks, per_chunk, settings, planned.checked)
    summaries.keep_only(planned.chunks)
    return analysis


class Pieces:
    """A check of a whole file one piece at a time (groups of linked chunks, `incremental.pieces`), so that the
    server can give way to a newer change between two pieces. Once every step has run, `result()` is what
    `analyse()` gives for the text (None when a piece could not be checked alone, or the text is over
    max-file-size: `analyse()` then says why)."""

    LINES = 120  # a piece's lines, at least (a few milliseconds of checking)

    def __init__(self, text: str, path: str, settings: Settings, summaries: incremental.Summaries):
        self.text, self.path, self.settings = text, path, settings
        self.chunks = incremental.cut(text, summaries) if len(text) <= settings.max_file_size else None
        self.groups = incremental.pieces(self.chunks, self.LINES) if self.chunks is not None else None
        self._found: list[list[Result]] = [[] for _ in self.chunks or ()]
        self._errors: list[str] = []
        self._failed = self.chunks is None

    def steps(self):
        """Check the pieces, yielding after each."""
        if self._failed:
            return
        imports = [i for i, chunk in enumerate(self.chunks) if chunk.summary.imports_only]
        for number, group in enumerate(self.groups or [[]]):  # a file of imports only: one check of them
            checked = analyse([self.text], self.path, self.settings,
                              checked_text=incremental.text_of(self.chunks, group))
            if checked.error is not None:
                self._failed = True
                return
            self._errors += checked.internal_errors
            found = incremental.assign(self.chunks, checked.results)
            for index in group + (imports if number == 0 else []):  # every piece has the imports: once
                self._found[index] = found[index]
            yield True

    def result(self) -> Analysis | None:
        if self._failed:
            return None
        analysis = Analysis([self.text], self.path, self.settings, module_text=self.text)
        analysis.results = sorted((r for results in self._found for r in results),
                                  key=lambda r: (r.finding.line, r.finding.column, r.finding.code))
        analysis.internal_errors = list(dict.fromkeys(self._errors))
        analysis.chunks = incremental.Checked(self.chunks, self._found, self.settings, list(range(len(self.chunks))))
        return analysis


def chunked(analysis: Analysis, summaries: incremental.Summaries) -> incremental.Checked | None:
    """A full analysis of a file, cut into chunks for the next edit's `analyse_edit` (None: it cannot be)."""
    if analysis.module is not None or analysis.error is not None:
        return None
    chunks = incremental.cut(analysis.module_text, summaries)
    if chunks is None:
        return None
    summaries.keep_only(chunks)
    return incremental.Checked(chunks, incremental.assign(chunks, analysis.results), analysis.settings)


def unreadable(text: str) -> str | None:
    """Why an editor's text is no Python source at all (one line, with the position), or None.

    A file on disk with a NUL byte is refused as binary before it is decoded (`autofix.source`); an editor's
    buffer comes decoded, so it is refused here, and so is a lone surrogate (a client that sent UTF-16 halves),
    which CPython's parser cannot encode and would report as a bare UnicodeEncodeError."""
    if "\0" in text:
        return f"contains a NUL byte at {_line_column(text, text.index(chr(0)))}, as binary files do: not checked"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            return (f"is not valid Unicode: a lone surrogate at {_line_column(text, error.start)} "
                    "(the editor sent half of a UTF-16 pair): not checked")
    return None


def _line_column(text: str, offset: int) -> str:
    line, column = _position(text, offset)
    return f"{line + 1}:{column + 1}"


def _place(finding: Finding, module: notebook.Module | None) -> Place:
    where = finding.range
    if module is None:
        return Place(0, where.line - 1, where.column, where.end_line - 1, where.end_column)
    cell, line = module.locate(where.line)
    end_cell, end_line = module.locate(where.end_line)
    if end_cell != cell:  # a finding cannot span cells: keep its end inside its first cell
        end_line, end_column = line, where.column
    else:
        end_column = where.end_column
    return Place(cell - 1, line - 1, where.column, end_line - 1, end_column)


def diff_replacements(part: int, before: str, after: str) -> list[Replacement]:
    """The changed runs of whole lines between two texts, as replacements (the smallest edits an editor can
    apply without moving the cursor far or losing marks on unchanged lines)."""
    import difflib

    old, new = split_lines(before), split_lines(after)
    starts = [0]
    for line in old:
        starts.append(starts[-1] + len(line))
    out = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start, end = _position(before, starts[i1]), _position(before, starts[i2])
        out.append(Replacement(part, *start, *end, "".join(new[j1:j2])))
    return out


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset)
    return line, offset - (text.rfind("\n", 0, offset) + 1)
