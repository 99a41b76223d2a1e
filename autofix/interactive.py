"""`--interactive`: walk the fixes hunk by hunk and write only what the user accepts (Bowler's review, on our engine).

y apply this hunk, n skip it, a apply the rest of this file, q quit (files already written stay written).
A notebook is reviewed cell by cell: each hunk is one of a changed cell's source.
The answers come from the terminal; without one we refuse before doing any work.
"""
from __future__ import annotations

import ast
import difflib
import sys

from autofix import notebook, render, source
from autofix.config import ConfigError
from autofix.runner import FileOutcome, Job

HELP = "y - apply this hunk, n - skip it, a - apply it and the rest of this file, q - quit"


def require_terminal() -> None:
    if not sys.stdin.isatty():
        raise ConfigError(
            "--interactive needs a terminal to ask you (stdin is not interactive); use --diff to review or --fix to apply"
        )


def hunks(before: list[str], after: list[str]) -> list[list[tuple[str, int, int, int, int]]]:
    """Groups of opcodes with up to 3 lines of context, as `diff -u` shows them."""
    return list(difflib.SequenceMatcher(None, before, after, autojunk=False).get_grouped_opcodes(3))


def show(path: str, group, before: list[str], after: list[str], number: int, total: int) -> None:
    first, last = group[0], group[-1]
    header = f"@@ -{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]} @@"
    lines = [f"--- {path} (hunk {number} of {total})", header]
    for tag, i1, i2, j1, j2 in group:
        if tag == "equal":
            lines += [" " + line.rstrip("\r\n") for line in before[i1:i2]]
            continue
        lines += ["-" + line.rstrip("\r\n") for line in before[i1:i2]]
        lines += ["+" + line.rstrip("\r\n") for line in after[j1:j2]]
    render.write_diff("\n".join(lines) + "\n", sys.stdout)


def ask() -> str:
    while True:
        sys.stdout.write("Apply this hunk [y,n,a,q,?]? ")
        sys.stdout.flush()
        answer = sys.stdin.readline()
        if not answer:  # the terminal went away: treat it as quit, writing nothing more
            return "q"
        answer = answer.strip().lower()[:1]
        if answer in ("y", "n", "a", "q"):
            return answer
        sys.stdout.write(HELP + "\n")


def merge(before: list[str], after: list[str], groups, accepted: list[bool]) -> str:
    """The original with only the accepted hunks' changes applied."""
    result: list[str] = []
    position = 0
    for group, take in zip(groups, accepted):
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                continue
            result += before[position:i1]
            result += after[j1:j2] if take else before[i1:i2]
            position = i2
    result += before[position:]
    return "".join(result)


def _parts(outcome: FileOutcome) -> list[tuple[str, int | None, str, str]]:
    """What to review, as (label, cell index or None, before, after): the file, or each changed cell of a notebook."""
    if not notebook.is_notebook(outcome.path):
        return [(outcome.path, None, outcome.before, outcome.after)]
    return [(f"{outcome.path}:cell {number}", number - 1, old, new)
            for number, old, new in notebook.changed_cells(outcome.before, outcome.after)]


def _assemble(outcome: FileOutcome, merged: dict[int | None, str]) -> str | None:
    """The file's new text from the accepted changes, or None when it would not parse."""
    try:
        if None in merged:
            ast.parse(merged[None])
            return merged[None]
        text = notebook.parse(outcome.before).with_sources(merged)
        ast.parse(notebook.module_of(notebook.parse(text)).text)
        return text
    except (SyntaxError, ValueError, notebook.NotebookError):
        return None


def review(outcomes: list[FileOutcome], job: Job, errors: int) -> int:
    applied = offered = files = 0
    quit_ = False
    for outcome in sorted(outcomes, key=lambda o: o.path):
        if quit_ or outcome.after is None or outcome.before is None:
            continue
        parts = []
        for label, key, old, new in _parts(outcome):
            before, after = old.splitlines(keepends=True), new.splitlines(keepends=True)
            parts.append((label, key, before, after, hunks(before, after)))
        total = sum(len(groups) for *_, groups in parts)
        number, rest, accepted_here = 0, False, 0
        merged: dict[int | None, str] = {}
        for label, key, before, after, groups in parts:
            accepted: list[bool] = []
            for group in groups:
                if quit_:
                    break
                number += 1
                offered += 1
                if rest:
                    accepted.append(True)
                    continue
                show(label, group, before, after, number, total)
                answer = ask()
                if answer == "q":
                    quit_ = True
                    break
                rest = answer == "a"
                accepted.append(answer in ("y", "a"))
            accepted += [False] * (len(groups) - len(accepted))
            if any(accepted):
                merged[key] = merge(before, after, groups, accepted)
                accepted_here += sum(accepted)
        if not merged:
            continue
        text = _assemble(outcome, merged)
        if text is None:
            render.stderr(f"warning: {outcome.path}: the hunks you accepted do not form valid Python on their own "
                          "(a fix spans several hunks); file left unchanged")
            continue
        try:
            current = source.read(outcome.path)
            if current.text != outcome.before:
                raise source.SourceError("file changed on disk while autofix was running; not overwritten")
            source.write_atomic(outcome.path, current, text)
        except source.SourceError as error:
            render.stderr(render.error_line(outcome.path, f"not written: {error}"))
            errors += 1
            continue
        applied += accepted_here
        files += 1
    render.stderr(f"Applied {applied} of {offered} hunks in {files} file{'s' if files != 1 else ''}."
                  + (" Quit early." if quit_ else ""))
    remaining = any(o.findings for o in outcomes) or applied < offered
    return 2 if errors else (1 if remaining else 0)
