"""Code frames, the `full` output format (ruff's): what a finding looks like in the code, and what its fix does.

    GF101 [*] In-place write through `.data` ...
     --> train.py:6:5
      |
    5 | def init(m):
    6 |     m.weight.data.normal_(0.0, 0.02)
      |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ GF101
      |
      = safe fix (preserving):
    5 5 |  def init(m):
    6   | -    m.weight.data.normal_(0.0, 0.02)
      6 | +    with torch.no_grad():
      7 | +        m.weight.normal_(0.0, 0.02)

A frame is a list of lines, each a list of (text, style) segments: render.py writes the text alone when piped
and lets rich colour the styles on a terminal. Lines of a notebook finding are its cell's lines.
"""
from __future__ import annotations

import unicodedata

from autofix import notebook
from autofix.diff import split_lines
from autofix.rule import Applicability
from autofix.runner import Reported

CONTEXT = 2  # unchanged lines shown above and below a finding's own lines
MAX_MARKED = 6  # a finding over more lines shows its first and last lines, with the count left out between

Segment = tuple[str, str]  # (text, rich style; "" for none)
Line = list[Segment]


def source_lines(text: str | None, path: str, finding: Reported) -> list[str]:
    """The lines a finding's line numbers count in: the file's, or in a notebook its cell's. [] if unknown."""
    if text is None:
        return []
    if finding.cell is not None and notebook.is_notebook(path):
        try:
            text = notebook.parse(text).source(finding.cell - 1)
        except (notebook.NotebookError, IndexError):
            return []
    return [line.rstrip("\n").rstrip("\r") for line in split_lines(text)]


def frame(header: Line, lines: list[str], finding: Reported, shown: frozenset[Applicability], fixing: bool,
          location: str | None = None) -> list[Line]:
    """The header, ruff's ` --> path:line:col` arrow (with `location`), the code frame (when `lines` holds the
    finding's lines), then the fix or a help line."""
    out: list[Line] = [header]
    first, last = finding.line, min(finding.end_line, len(lines))
    if location is not None:
        shown_last = min(len(lines), max(first, last) + CONTEXT) if 1 <= first <= len(lines) else first
        out.append([(" " * len(str(max(shown_last, 1))) + "--> ", "blue"), (location, "")])
    if 1 <= first <= len(lines):
        out += _code(lines, finding, first, max(first, last))
    out += _fix(finding, shown, fixing)
    return out


def _code(lines: list[str], finding: Reported, first: int, last: int) -> list[Line]:
    numbers = list(range(max(1, first - CONTEXT), min(len(lines), last + CONTEXT) + 1))
    if last - first + 1 > MAX_MARKED:  # keep the first and last marked lines, say how many are left out
        keep = MAX_MARKED // 2
        numbers = [n for n in numbers if n < first + keep or n > last - keep]
    width = len(str(numbers[-1]))
    blank = " " * width
    out: list[Line] = [[(f"{blank} |", "blue")]]
    previous = None
    for number in numbers:
        if previous is not None and number != previous + 1:
            out.append([(f"{blank} |", "blue"), (f" ... {number - previous - 1} lines ...", "dim")])
        previous = number
        text = lines[number - 1]
        out.append([(f"{number:>{width}} |", "blue"), (" " + _display(text) if text else "", "")])
        if first <= number <= last:
            start = finding.column - 1 if number == first else len(text) - len(text.lstrip())
            end = finding.end_column - 1 if number == last else len(text)
            start, end = min(start, len(text)), min(max(end, start), len(text))
            pad = _width(text[:start])
            size = max(1, _width(text[:end]) - pad)
            marker: Line = [(f"{blank} |", "blue"), (" " + " " * pad + "^" * size, "bold red")]
            if number == last:
                marker.append((" " + finding.code, "bold red"))
            out.append(marker)
    out.append([(f"{blank} |", "blue")])
    return out


def _fix(finding: Reported, shown: frozenset[Applicability], fixing: bool) -> list[Line]:
    level = finding.fix.applicability if finding.fix else Applicability.NONE
    if level is Applicability.NONE:
        return [[("  = help: ", "bold cyan"), (f"no automatic fix; `autofix explain {finding.code}` says what to do", "")]]
    unsafe = level is Applicability.UNSAFE
    how = "`--fix --unsafe-fixes`" if unsafe else "`--fix`"
    if not finding.preview:
        if fixing and level in shown:
            text = "`--fix` could not apply its fix here (an internal error above says why, when there is one)"
        else:
            text = f"{'an unsafe' if unsafe else 'a safe'} fix is available with {how}; `--diff` shows it"
        return [[("  = help: ", "bold cyan"), (text, "")]]
    title = f"{'unsafe' if unsafe else 'safe'} fix ({finding.fix.effect.value})"
    if unsafe and level not in shown:
        title += f", applied with {how}"
    out: list[Line] = [[("  = ", "bold cyan"), (title + ":", "bold cyan")]]
    rows = finding.preview
    width = max(len(str(n)) for _, a, b, _ in rows for n in (a, b) if n is not None)
    for tag, old, new, text in rows:
        if tag == "~":
            out.append([(" " * (2 * width + 1) + " |", "blue"), (" ...", "dim")])
            continue
        gutter = f"{'' if old is None else old:>{width}} {'' if new is None else new:>{width}} |"
        style = {"-": "red", "+": "green"}.get(tag, "")
        out.append([(gutter, "blue"), (f" {tag}{_display(text)}" if text or tag != " " else "", style)])
    return out


def _display(text: str) -> str:
    return text.expandtabs(4)


def _width(text: str) -> int:
    """Terminal cells `text` takes once shown: tabs expanded, wide (East Asian) characters counted twice."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in _display(text))
