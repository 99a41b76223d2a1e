"""`--add-noqa`: a `# noqa: CODE` comment on every line that has a finding, as ruff writes it.

A finding is suppressed by a comment on the line it starts on (rule.SuppressionIndex), so that is the line that
gets the comment. Idempotent by construction: a second run finds nothing (every finding is suppressed now), so it
changes nothing. A line whose end lies inside a string that spans lines cannot take a comment there: it is left
alone and counted as skipped.
"""
from __future__ import annotations

import io
import re
import tokenize

from autofix.diff import split_lines

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z0-9_]+(?:[,\s]+[A-Za-z0-9_]+)*))?", re.IGNORECASE)


def add(text: str, codes_by_line: dict[int, set[str]]) -> tuple[str, int, int]:
    """`text` with the codes added to each line's noqa comment; returns (new text, lines changed, lines skipped)."""
    lines = split_lines(text)
    inside = _lines_ending_in_strings(text)
    added = skipped = 0
    for number, codes in sorted(codes_by_line.items()):
        if not 1 <= number <= len(lines):
            continue
        if number in inside:
            skipped += 1
            continue
        line = lines[number - 1]
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        match = _NOQA.search(body) if "#" in body else None
        if match and match.group("codes") is None:
            continue  # a bare noqa comment already suppresses everything
        if match:
            known = re.split(r"[,\s]+", match.group("codes").strip())
            merged = sorted(set(known) | codes)
            body = body[:match.start()] + "# noqa: " + ", ".join(merged) + body[match.end():]
        else:
            body = body.rstrip() + "  # noqa: " + ", ".join(sorted(codes))
        lines[number - 1] = body + ending
        added += 1
    return "".join(lines), added, skipped


def _lines_ending_in_strings(text: str) -> set[int]:
    """Lines whose end is inside a string token that continues on the next line (a triple-quoted string):
    a comment added there would become part of the string."""
    inside: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.start[0] != token.end[0] and token.type in (tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", -1)):
                inside.update(range(token.start[0], token.end[0]))
    except (tokenize.TokenError, SyntaxError):
        pass  # the file parsed, so this does not happen; without tokens, every line is taken as plain code
    return inside
