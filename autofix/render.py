"""Output formats. Plain text when piped (byte-exact, no wrapping), rich colour only on a terminal."""
from __future__ import annotations

import json
import sys
from typing import IO, Iterable

from autofix.rule import Applicability, Finding, Rule
from autofix.runner import FileOutcome


def _console(stream: IO[str]):
    from rich.console import Console

    # soft_wrap: never insert line breaks; highlight off: colour only what we mark.
    return Console(file=stream, soft_wrap=True, highlight=False)


def wants_colour(stream: IO[str]) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


def finding_line(path: str, finding: Finding, fixable: bool) -> tuple[str, str, str, str]:
    location = f"{path}:{finding.line}:{finding.column}:"
    marker = " [*]" if fixable else ""
    return location, finding.code, marker, finding.message


def text_report(
    outcomes: Iterable[FileOutcome],
    apply_levels: frozenset[Applicability],
    fixing: bool,
    stream: IO[str],
    summary: bool = True,
    errors: int = 0,
) -> None:
    """`path:line:col: CODE [*] message` lines sorted by path and position, then a summary."""
    colour = wants_colour(stream)
    console = _console(stream) if colour else None
    shown_levels = apply_levels or frozenset({Applicability.SAFE})
    total = fixable = unsafe_only = fixed = 0
    for outcome in sorted(outcomes, key=lambda o: o.path):
        fixed += len(outcome.fixed)
        for finding in outcome.findings:
            total += 1
            level = finding.fix.applicability if finding.fix else Applicability.NONE
            can_fix = level in shown_levels
            fixable += can_fix
            unsafe_only += level is Applicability.UNSAFE and not can_fix
            location, code, marker, message = finding_line(outcome.path, finding, can_fix)
            if console is not None:
                from rich.text import Text

                console.print(Text.assemble((location, "bold"), " ", (code, "bold red"), (marker, "cyan"), " ", message))
            else:
                stream.write(f"{location} {code}{marker} {message}\n")
    if not summary:
        return
    line = _summary(total, fixable, unsafe_only, fixed, fixing)
    if errors:
        line = line.replace("All checks passed!", "No findings.") + f" {_plural(errors, 'error')} (see above)."
    if console is not None:
        console.print(line, style="bold green" if total == 0 and not errors else "bold")
    else:
        stream.write(line + "\n")


def _summary(total: int, fixable: int, unsafe_only: int, fixed: int, fixing: bool) -> str:
    if fixing:
        if total == 0:
            return f"Fixed {_plural(fixed, 'finding')}; all checks passed." if fixed else "All checks passed!"
        return f"Found {_plural(fixed + total, 'finding')} ({fixed} fixed, {total} remaining)."
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


def finding_json(path: str, finding: Finding) -> dict:
    return {
        "path": path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "fix": None
        if finding.fix is None
        else {"applicability": finding.fix.applicability.value, "effect": finding.fix.effect.value},
    }


def json_report(outcomes: Iterable[FileOutcome], stream: IO[str]) -> None:
    rows = [finding_json(o.path, f) for o in sorted(outcomes, key=lambda o: o.path) for f in o.findings]
    json.dump(rows, stream, indent=2)
    stream.write("\n")


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
        (r.code, r.name, r.fix_applicability.value, r.fix_effect.value if r.fix_effect else "-", r.message)
        for r in rules
    ]
    header = ("code", "name", "fix", "effect", "message")
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
        f"Fix: {rule.fix_applicability.value}"
        + (f" ({rule.fix_effect.value})" if rule.fix_effect else "")
        + f"\n\nAt runtime: {rule.runtime}\n\n"
    )
    text = head + rule.documentation() + "\n"
    if wants_colour(stream):
        from rich.markdown import Markdown

        _console(stream).print(Markdown(text))
    else:
        stream.write(text)


def stderr(message: str) -> None:
    sys.stderr.write(message + "\n")
