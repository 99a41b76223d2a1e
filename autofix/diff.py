"""Unified diffs that `git apply` and `patch -p1` accept byte for byte.

difflib does the diffing; this module adds what difflib leaves out: `a/` `b/` prefixes, CRLF-safe line
splitting, the "\\ No newline at end of file" marker, and the BOM on the first line.
"""
from __future__ import annotations

import difflib

NO_NEWLINE = "\\ No newline at end of file\n"


def unified_diff(path: str, before: str, after: str, bom: bool = False, context: int = 3) -> str:
    """The patch that turns `before` into `after` for the file at `path` (relative, forward slashes)."""
    if before == after:
        return ""
    if bom:  # the BOM is part of line 1 on disk, so a hunk touching line 1 must carry it
        before, after = "\ufeff" + before, "\ufeff" + after
    old, new = split_lines(before), split_lines(after)
    path = path.replace("\\", "/").lstrip("/")
    out: list[str] = []
    for line in difflib.unified_diff(old, new, f"a/{path}", f"b/{path}", n=context):
        if line.startswith(("---", "+++")):
            out.append(line.rstrip("\n") + "\n")
            continue
        if line.startswith("@@"):
            out.append(line)
            continue
        if line.endswith("\n"):
            out.append(line)
        else:  # the file's last line, with no newline after it
            out.append(line + "\n" + NO_NEWLINE)
    return "".join(out)


def split_lines(text: str) -> list[str]:
    # splitlines(keepends=True) would also split on \x0c, \x1c, \u2028 ...: Python source and diff tools
    # only know \n (with \r before it for CRLF), so split on \n alone.
    lines = text.split("\n")
    result = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        result.append(lines[-1])
    return result


# One row of a small diff to show a reader: (tag, line number before, line number after, text without its line
# ending); tag is " " (kept), "-" (removed), "+" (added) or "~" (unchanged lines left out), and the number a
# side lacks is None.
Row = tuple[str, "int | None", "int | None", str]


def changed_rows(before: str, after: str, context: int = 1) -> tuple[Row, ...]:
    """The lines that differ between `before` and `after`, with `context` unchanged lines around each change."""
    old, new = split_lines(before), split_lines(after)
    rows: list[Row] = []
    for group in difflib.SequenceMatcher(None, old, new, autojunk=False).get_grouped_opcodes(context):
        if rows:
            rows.append(("~", None, None, ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [(" ", i + 1, j1 + (i - i1) + 1, _bare(old[i])) for i in range(i1, i2)]
                continue
            rows += [("-", i + 1, None, _bare(old[i])) for i in range(i1, i2)]
            rows += [("+", None, j + 1, _bare(new[j])) for j in range(j1, j2)]
    return tuple(rows)


def _bare(line: str) -> str:
    return line.rstrip("\n").rstrip("\r")
