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
