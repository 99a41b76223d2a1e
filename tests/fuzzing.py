"""Properties every run of the engine must have, and generators of PyTorch-flavoured programs.

Shared by tests/test_fuzz.py (a short fixed-seed budget) and bench/fuzz_long.py (a long run).
"""
from __future__ import annotations

import ast
import difflib
import keyword
import re

from hypothesis import strategies as st

from autofix import engine
from autofix.registry import all_rules
from autofix.rule import Applicability, Invalid, Valid

RULES = all_rules()
EVERY_FIX = frozenset({Applicability.SAFE, Applicability.UNSAFE})
SNIPPETS = [e.code for rule in RULES for e in rule.examples if isinstance(e, (Valid, Invalid))]
# Identifiers the examples use that a rename may change without changing what the code means to a reader.
RENAMEABLE = ["model", "m", "x", "y", "loss", "opt", "optimizer", "w", "b", "p", "lr", "net", "self"]


def check_properties(text: str) -> None:
    """No crash; fixed output parses; --fix is idempotent; no findings means no change; changes stay local."""
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return  # not valid Python: the engine may refuse it, but must not crash (checked below)
    try:
        checked = engine.check(text, RULES, "fuzz.py")
        fixed = engine.check(text, RULES, "fuzz.py", apply=EVERY_FIX)
    except engine.ParseFailure:
        return  # a clean refusal (LibCST's grammar is narrower than CPython's in rare corners)
    assert not fixed.internal_errors, fixed.internal_errors
    if not checked.findings:
        assert fixed.fixed_text is None, "a file with no findings was changed"
        return
    if fixed.fixed_text is None:
        return
    ast.parse(fixed.fixed_text)  # every fixed output parses
    again = engine.check(fixed.fixed_text, RULES, "fuzz.py", apply=EVERY_FIX)
    assert again.fixed_text is None, "--fix is not idempotent"
    _changes_stay_in_fixed_statements(text, fixed.fixed_text, fixed.fixed)


def _changes_stay_in_fixed_statements(before: str, after: str, fixed) -> None:
    """Every changed original line lies in a top-level statement that holds a fixed finding (or is an import
    the fix added at the top): the rest of the file is byte-identical."""
    tree = ast.parse(before)
    spans = [(node.lineno, node.end_lineno) for node in tree.body]
    touched = set()
    for finding in fixed:
        for start, end in spans:
            if start <= finding.line <= end:
                touched.update(range(start, end + 1))
    old, new = _lines(before), _lines(after)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if tag == "insert" and all(line.lstrip().startswith(("import ", "from ")) or not line.strip()
                                   for line in new[j1:j2]):
            continue
        lines = set(range(i1 + 1, i2 + 1)) or {i1, i1 + 1}
        assert lines & touched, f"lines {sorted(lines)[:5]} changed outside every fixed statement"
        # Blank and comment-only lines between two fixed statements may move when the fixes merge into
        # one block; a line of code outside the fixed statements may not change.
        outside = {n for n in lines - touched if 0 < n <= len(old) and old[n - 1].strip()
                   and not old[n - 1].lstrip().startswith("#")}
        assert not outside, f"lines {sorted(outside)[:5]} changed outside the fixes"


def _lines(text: str) -> list[str]:
    """Lines as Python's tokenizer counts them (str.splitlines also splits at form feeds, which Python does not)."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)


_names = st.sampled_from(["model", "net", "encoder", "m", "w", "weight", "p", "param", "x", "inputs", "lr", "alpha",
                          "opt", "optim", "sched", "loss", "total", "t", "h", "state"])


@st.composite
def torch_snippets(draw) -> str:
    """Rule examples, renamed, nested in functions/classes/branches, with comments and odd whitespace."""
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        code = draw(st.sampled_from(SNIPPETS))
        old = draw(st.sampled_from(RENAMEABLE))
        new = draw(_names)
        if not keyword.iskeyword(new):
            code = _rename(code, old, new)
        code = _decorate(code, draw)
        wrapper = draw(st.sampled_from(["", "def", "class", "if", "for", "with"]))
        parts.append(_wrap(code, wrapper))
    blank = draw(st.sampled_from(["\n", "\n\n", "\n# between\n", "\n\x0c\n"]))
    return blank.join(parts)


def _rename(code: str, old: str, new: str) -> str:
    import re

    return re.sub(rf"\b{re.escape(old)}\b", new, code)


def _decorate(code: str, draw) -> str:
    lines = code.splitlines()
    out = []
    for line in lines:
        choice = draw(st.integers(0, 5))
        if choice == 0 and line.strip() and not line.rstrip().endswith("\\"):
            line = line + "  # note"
        elif choice == 1:
            out.append(line[: len(line) - len(line.lstrip())] + "# a comment line" if line.strip() else "")
        out.append(line)
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    return ending.join(out) + ending


def _wrap(code: str, wrapper: str) -> str:
    if not wrapper:
        return code
    header = {"def": "def wrapped(model, x, y, lr, opt):", "class": "class Wrapped:", "if": "if training:",
              "for": "for step in range(3):", "with": "with context():"}[wrapper]
    newline = "\r\n" if code.endswith("\r\n") else "\n"
    body = newline.join("    " + line if line.strip() else line for line in code.splitlines())
    return header + newline + body + newline
