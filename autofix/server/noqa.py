"""Where `# noqa: CODE` goes on a line, so that the suppression the engine reads (`SuppressionIndex`) covers it."""
from __future__ import annotations

import io
import tokenize

from autofix.diff import split_lines
from autofix.rule import SuppressionIndex


def suppression(text: str, line: int, code: str) -> tuple[int, int, str] | None:
    """(start column, end column, new text) that make line `line` (from 1) of `text` suppress `code`: the code added
    to the line's own `# noqa: ...` / `# autofix: ignore[...]` list, or `  # noqa: CODE` after its code and comments.

    None when no comment can go there: the line ends inside a string or a backslash continuation (a comment would
    change the program), or a blanket `# noqa` already covers everything.
    """
    lines = split_lines(text)
    if not 1 <= line <= len(lines):
        return None
    content = lines[line - 1].rstrip("\r\n")
    comment = None
    ends_here = False
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.start[0] > line:
                break
            if token.start[0] == line and token.type == tokenize.COMMENT and comment is None:
                comment = token
            if token.start[0] == line and token.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
                ends_here = True
    except (tokenize.TokenError, SyntaxError):
        return None
    if not ends_here and comment is None:
        return None
    if comment is not None:
        match = SuppressionIndex._PATTERN.search(comment.string)
        if match is not None:
            codes = match.group("codes")
            if not codes:
                return None  # a blanket suppression: nothing is reported on this line
            if codes.strip().startswith("["):
                at = comment.start[1] + match.start("codes") + codes.rindex("]")
                return at, at, f", {code}"
            at = comment.start[1] + match.start("codes") + len(codes.rstrip())
            return at, at, f", {code}"
    end = len(content.rstrip())
    return end, len(content), f"  # noqa: {code}"
