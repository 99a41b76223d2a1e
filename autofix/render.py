"""Output formats. Plain text when piped (byte-exact, no wrapping), rich colour only on a terminal."""
from __future__ import annotations

import contextlib
import re
import sys
from dataclasses import dataclass
from typing import IO, Callable, Iterable

from autofix.diff import unified_diff
from autofix.notebook import cell_diff, is_notebook
from autofix.rule import Applicability, Rule
from autofix.runner import FileOutcome, Reported


def _console(stream: IO[str]):
    from rich.console import Console

    # soft_wrap: never insert line breaks; highlight off: colour only what we mark.
    return Console(file=stream, soft_wrap=True, highlight=False)


def wants_colour(stream: IO[str]) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


def finding_line(path: str, finding: Reported, fixable: bool) -> tuple[str, str, str, str]:
    cell = f"cell {finding.cell}:" if finding.cell is not None else ""
    location = f"{path}:{cell}{finding.line}:{finding.column}:"
    marker = " [*]" if fixable else ""
    return location, finding.code, marker, finding.message


def text_report(
    outcomes: Iterable[FileOutcome],
    apply_levels: frozenset[Applicability],
    fixing: bool,
    stream: IO[str],
    summary: bool = True,
    errors: int = 0,
    text_of: Callable[[FileOutcome], str | None] | None = None,
) -> None:
    """Findings sorted by path and position, then a summary: `path:line:col: CODE [*] message` lines (concise),
    or with `text_of` (the text a file's findings are positioned in) each as a code frame (full)."""
    colour = wants_colour(stream)
    console = _console(stream) if colour else None
    shown_levels = apply_levels or frozenset({Applicability.SAFE})
    total = fixable = unsafe_only = fixed = 0
    for outcome in sorted(outcomes, key=lambda o: o.path):
        fixed += len(outcome.fixed)
        text = text_of(outcome) if text_of is not None and outcome.findings else None
        for finding in outcome.findings:
            total += 1
            level = finding.fix.applicability if finding.fix else Applicability.NONE
            can_fix = level in shown_levels
            fixable += can_fix
            unsafe_only += level is Applicability.UNSAFE and not can_fix
            location, code, marker, message = finding_line(outcome.path, finding, can_fix)
            header = [(location, "bold"), (" ", ""), (code, "bold red"), (marker, "cyan"), (" " + message, "")]
            lines = [header]
            if text_of is not None:  # ruff's full shape: `CODE [*] message`, then ` --> path:line:col`
                from autofix import frames

                source = frames.source_lines(text, outcome.path, finding)
                lines = frames.frame(header[2:], source, finding, shown_levels, fixing,
                                     location=location.rstrip(":")) + [[]]
            for line in lines:
                _write_styled(line, stream, console)
    if summary:
        _write_summary(total, fixable, unsafe_only, fixed, fixing, errors, stream, console)


def summary(outcomes: Iterable[FileOutcome], apply_levels: frozenset[Applicability], fixing: bool, stream: IO[str],
            errors: int = 0, quiet: bool = False) -> None:
    """The closing line (`Found N findings. [*] M fixable with `--fix`.`), unless `quiet`."""
    if quiet:
        return
    shown_levels = apply_levels or frozenset({Applicability.SAFE})
    total = fixable = unsafe_only = fixed = 0
    for outcome in outcomes:
        fixed += len(outcome.fixed)
        for finding in outcome.findings:
            level = finding.fix.applicability if finding.fix else Applicability.NONE
            total += 1
            fixable += level in shown_levels
            unsafe_only += level is Applicability.UNSAFE and level not in shown_levels
    console = _console(stream) if wants_colour(stream) else None
    _write_summary(total, fixable, unsafe_only, fixed, fixing, errors, stream, console)


def _write_summary(total: int, fixable: int, unsafe_only: int, fixed: int, fixing: bool, errors: int,
                   stream: IO[str], console) -> None:
    line = _summary(total, fixable, unsafe_only, fixed, fixing)
    if errors:
        line = line.replace("All checks passed!", "No findings.") + f" {_plural(errors, 'error')} (see above)."
    if console is not None:
        console.print(line, style="bold green" if total == 0 and not errors else "bold")
    else:
        stream.write(line + "\n")


def fix_only_summary(outcomes: Iterable[FileOutcome], apply_levels: frozenset[Applicability], stream: IO[str]) -> None:
    """`--fix-only`'s one line, as ruff's: `Fixed N findings.` or `No findings fixed.`, and the unsafe fixes left."""
    fixed = sum(len(o.fixed) for o in outcomes)
    unsafe = sum(1 for o in outcomes for f in o.findings
                 if f.fix and f.fix.applicability is Applicability.UNSAFE and Applicability.UNSAFE not in apply_levels)
    line = f"Fixed {_plural(fixed, 'finding')}" if fixed else "No findings fixed"
    if unsafe:
        line += f" ({unsafe} {'additional ' if fixed else ''}fix{'es' if unsafe != 1 else ''} available with `--unsafe-fixes`)"
    stream.write(line + ".\n")


def fixed_listing(outcomes: Iterable[FileOutcome], stream: IO[str]) -> None:
    """ruff's `--show-fixes` listing: `Fixed N findings:`, then per file `- path:` and `    K × CODE (name)`."""
    fixed = [o for o in sorted(outcomes, key=lambda o: o.path) if o.fixed]
    if not fixed:
        return
    total = sum(len(o.fixed) for o in fixed)
    stream.write(f"\nFixed {_plural(total, 'finding')}:\n")
    for outcome in fixed:
        stream.write(f"- {outcome.path}:\n")
        counts: dict[tuple[str, str], int] = {}
        for finding in outcome.fixed:
            counts[(finding.code, finding.name)] = counts.get((finding.code, finding.name), 0) + 1
        for (code, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            stream.write(f"    {count} \u00d7 {code} ({name})\n")
    stream.write("\n")


def _write_styled(line: list[tuple[str, str]], stream: IO[str], console) -> None:
    if console is None:
        stream.write("".join(text for text, _ in line) + "\n")
        return
    from rich.text import Text

    console.print(Text.assemble(*((text, style) if style else text for text, style in line)))


def _summary(total: int, fixable: int, unsafe_only: int, fixed: int, fixing: bool) -> str:
    if fixing:
        if total == 0:
            return f"Fixed {_plural(fixed, 'finding')}; all checks passed." if fixed else "All checks passed!"
        line = f"Found {_plural(fixed + total, 'finding')} ({fixed} fixed, {total} remaining)."
        return line + (f" {unsafe_only} more fixable with `--fix --unsafe-fixes`." if unsafe_only else "")
    if total == 0:
        return "All checks passed!"
    parts = [f"Found {_plural(total, 'finding')}."]
    if fixable:
        parts.append(f"[*] {fixable} fixable with `--fix`.")
    if unsafe_only:
        parts.append(f"{unsafe_only} more fixable with `--fix --unsafe-fixes`.")
    return " ".join(parts)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def patch(outcome: FileOutcome) -> str:
    """A fixed file's diff: a unified diff `git apply` accepts, or for a notebook each changed cell's source."""
    if is_notebook(outcome.path):
        return cell_diff(outcome.path, outcome.before, outcome.after)
    return unified_diff(outcome.path, outcome.before, outcome.after, bom=outcome.bom)


def write_diff(patch: str, stream: IO[str]) -> None:
    """A patch goes out untouched when piped; on a terminal, coloured line by line (never cropped)."""
    if not wants_colour(stream):
        stream.write(patch)
        return
    from rich.text import Text

    console = _console(stream)
    styles = {"+++": "bold", "---": "bold", "@@": "cyan", "+": "green", "-": "red"}
    for line in patch.splitlines():
        style = next((s for prefix, s in styles.items() if line.startswith(prefix)), "")
        console.print(Text(line, style=style))


def error_line(path: str, reason: str) -> str:
    return f"error: {path}: {reason}"


def rules_table(rules: Iterable[type[Rule]], stream: IO[str]) -> None:
    rows = [
        (r.code, r.name, "preview" if r.preview else "stable", r.fix_applicability.value,
         r.fix_effect.value if r.fix_effect else "-", r.message)
        for r in rules
    ]
    header = ("code", "name", "tier", "fix", "effect", "message")
    if wants_colour(stream):
        from rich.table import Table

        table = Table(*header)
        for row in rows:
            table.add_row(*row)
        _console(stream).print(table)
        return
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        stream.write("  ".join(str(cell).ljust(width) for cell, width in zip(row[:-1], widths)) + "  " + row[-1] + "\n")


def explain(rule: type[Rule], stream: IO[str]) -> None:
    head = (
        f"# {rule.code} {rule.name}\n\n"
        + ("Tier: preview (runs with `--preview`, `preview = true`, or when selected by its exact code)\n\n"
           if rule.preview else "")
        + f"Fix: {rule.fix_applicability.value}"
        + (f" ({rule.fix_effect.value})" if rule.fix_effect else "")
        + f"\n\nAt runtime: {rule.runtime}\n\n"
    )
    text = head + rule.documentation() + "\n"
    if wants_colour(stream):
        from rich.markdown import Markdown

        _console(stream).print(Markdown(text))
    else:
        stream.write(text)


def settings(resolved, paths: list[str], stream: IO[str]) -> None:
    """`--show-settings`: where the settings come from, each setting as TOML, and the rules they enable."""
    from autofix.config import DEFAULT_EXCLUDE
    from autofix.registry import select_rules

    def toml_list(values) -> str:
        return "[" + ", ".join(f'"{v}"' for v in values) + "]"

    rules = select_rules(resolved.select, resolved.ignore, resolved.preview)
    stream.write(f"Resolved settings for: {', '.join(paths)}\n")
    stream.write(f"Settings path: {resolved.source or '(none: no configuration file found; the defaults)'}\n\n")
    stream.write(f'root = "{resolved.root}"\n')
    stream.write(f"select = {toml_list(resolved.select)}\n")
    stream.write(f"ignore = {toml_list(resolved.ignore)}\n")
    stream.write(f"exclude = {toml_list(resolved.exclude)}\n")
    stream.write(f"default-exclude = {toml_list(DEFAULT_EXCLUDE)}\n")
    pfi = ", ".join(f'"{k}" = {toml_list(v)}' for k, v in resolved.per_file_ignores.items())
    stream.write(f"per-file-ignores = {{{pfi}}}\n")
    stream.write(f"unsafe-fixes = {str(resolved.unsafe_fixes).lower()}\n")
    stream.write(f"preview = {str(resolved.preview).lower()}\n")
    stream.write(f"max-file-size = {resolved.max_file_size}\n")
    stream.write(f"rules = {toml_list(r.code for r in rules)}\n")


def stderr(message: str) -> None:
    sys.stderr.write(message + "\n")


# --- long runs: progress, per-rule statistics, the markdown migration report --------------------------------------

PROGRESS_DELAY = 1.0  # seconds a run takes before its progress bar appears (AUTOFIX_PROGRESS_DELAY overrides it)


@contextlib.contextmanager
def progress(total: int, enabled: bool = True, delay: float | None = None):
    """A progress bar on stderr while files are checked: only on a terminal, never in pipes or CI logs, and only
    once the run has taken `delay` seconds (as rich's and ruff's users expect: a quick run shows no bar at all)."""
    if not (enabled and wants_colour(sys.stderr)):
        yield lambda outcome: None
        return
    import os
    import threading

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=_console(sys.stderr), transient=True)
    task = bar.add_task("files", total=total)
    lock = threading.Lock()
    done = False

    def show() -> None:
        with lock:
            if not done:
                bar.start()

    if delay is None:
        try:
            delay = float(os.environ.get("AUTOFIX_PROGRESS_DELAY", PROGRESS_DELAY))
        except ValueError:
            delay = PROGRESS_DELAY
    timer = threading.Timer(delay, show)
    timer.daemon = True
    timer.start()
    try:
        yield lambda outcome: bar.advance(task)
    finally:
        timer.cancel()
        with lock:
            done = True
            bar.stop()  # a bar never started stops as a no-op


@dataclass
class RuleStatistics:
    code: str
    name: str
    files: int = 0
    findings: int = 0  # found, fixed or not
    fixed: int = 0
    unfixable: int = 0  # remaining with no fix at the chosen level


def rule_statistics(outcomes: Iterable[FileOutcome], apply_levels: frozenset[Applicability]) -> list[RuleStatistics]:
    shown = apply_levels or frozenset({Applicability.SAFE})
    rows: dict[str, RuleStatistics] = {}
    for outcome in outcomes:
        touched: set[str] = set()
        for finding, fixed in [(f, True) for f in outcome.fixed] + [(f, False) for f in outcome.findings]:
            row = rows.setdefault(finding.code, RuleStatistics(finding.code, finding.name))
            row.findings += 1
            row.fixed += fixed
            row.unfixable += not fixed and not (finding.fix and finding.fix.applicability in shown)
            touched.add(finding.code)
        for code in touched:
            rows[code].files += 1
    return [rows[code] for code in sorted(rows)]


def statistics(outcomes: list[FileOutcome], apply_levels: frozenset[Applicability], stream: IO[str]) -> None:
    rows = rule_statistics(outcomes, apply_levels)
    errors = sum(1 for o in outcomes if o.error or o.internal_errors)
    stream.write(f"{'code':<6} {'name':<28} {'files':>6} {'findings':>9} {'fixed':>6} {'unfixable':>10}\n")
    for r in rows:
        stream.write(f"{r.code:<6} {r.name:<28} {r.files:>6} {r.findings:>9} {r.fixed:>6} {r.unfixable:>10}\n")
    stream.write(f"{len(outcomes)} files checked, {errors} with errors\n")


def markdown_report(
    outcomes: list[FileOutcome], apply_levels: frozenset[Applicability], fixing: bool, stream: IO[str], errors: int = 0
) -> None:
    """A migration report for a pull-request description: totals per rule, then each file's findings."""
    rows = rule_statistics(outcomes, apply_levels)
    flagged = [o for o in outcomes if o.findings or o.fixed]
    changed = [o for o in outcomes if o.fixed]
    stream.write("## autofix migration report\n\n")
    stream.write(f"{_plural(len(outcomes), 'file')} checked, {_plural(len(flagged), 'file')} with findings, "
                 f"{_plural(len(changed), 'file')} {'fixed' if fixing else 'with fixes shown below'}, "
                 f"{_plural(errors, 'error')}.\n\n")
    if rows:
        stream.write("| rule | name | files | findings | fixed | left for review |\n|---|---|---:|---:|---:|---:|\n")
        for r in rows:
            stream.write(f"| {r.code} | {r.name} | {r.files} | {r.findings} | {r.fixed} | {r.findings - r.fixed} |\n")
        stream.write("\n")
    for outcome in sorted(outcomes, key=lambda o: o.path):
        if not (outcome.findings or outcome.fixed or outcome.error):
            continue
        stream.write(f"### `{outcome.path}`\n\n")
        if outcome.error:
            stream.write(f"- error: {outcome.error}\n")
        for finding in sorted(outcome.fixed, key=_position):
            stream.write(f"- [x] {_where(finding)}: **{finding.code}** {_md(finding.message)}\n")
        for finding in sorted(outcome.findings, key=_position):
            stream.write(f"- [ ] {_where(finding)}: **{finding.code}** {_md(finding.message)}\n")
        if outcome.after is not None and outcome.before is not None:
            text = patch(outcome)
            fence = code_fence(text)
            stream.write(f"\n<details><summary>diff</summary>\n\n{fence}diff\n{text}{fence}\n\n</details>\n")
        stream.write("\n")


def _position(finding: Reported) -> tuple[int, int, int]:
    return (finding.cell or 0, finding.line, finding.column)


def _where(finding: Reported) -> str:
    return f"line {finding.line}" if finding.cell is None else f"cell {finding.cell} line {finding.line}"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def code_fence(text: str) -> str:
    """A Markdown fence longer than any run of backticks in `text`, so that `text` cannot close it early."""
    runs = [len(m) for m in re.findall(r"`+", text)]
    return "`" * max(3, max(runs, default=0) + 1)
