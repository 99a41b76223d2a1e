"""What changed in a git work tree since a revision: files, and the added or changed lines in them."""
from __future__ import annotations

import os
import re
import subprocess

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class GitError(Exception):
    """git is missing, this is not a repository, or the revision is unknown; one line."""


def _git(args: list[str], cwd: str) -> str:
    try:
        completed = subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as error:
        raise GitError(f"cannot run git: {error.strerror}") from None
    if completed.returncode != 0:
        message = (completed.stderr.strip().splitlines() or ["git failed"])[-1]
        raise GitError(message.removeprefix("fatal: "))
    return completed.stdout


def toplevel(cwd: str = ".") -> str:
    return _git(["rev-parse", "--show-toplevel"], cwd).strip()


def changed_files(revision: str, cwd: str = ".") -> set[str]:
    """Absolute paths of files added, modified or untracked since `revision` (deleted ones are gone)."""
    root = toplevel(cwd)
    _git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], root)
    names = _git(["diff", "--name-only", "--no-renames", "--diff-filter=d", "-z", revision, "--"], root).split("\0")
    names += _git(["ls-files", "--others", "--exclude-standard", "-z"], root).split("\0")
    return {os.path.realpath(os.path.join(root, n)) for n in names if n}


def changed_lines(revision: str, cwd: str = ".") -> dict[str, set[int] | None]:
    """For each changed file, the 1-based line numbers added or changed since `revision` (None: every line)."""
    root = toplevel(cwd)
    result: dict[str, set[int] | None] = {}
    current: set[int] | None = None
    for line in _git(["diff", "-U0", "--no-renames", "--no-color", revision, "--"], root).splitlines():
        if line.startswith("+++ "):
            name = line[4:]
            if name == "/dev/null":
                current = None
                continue
            current = result.setdefault(os.path.realpath(os.path.join(root, name[2:])), set())
        elif current is not None and (match := _HUNK.match(line)):
            start, count = int(match.group(1)), int(match.group(2) or "1")
            current.update(range(start, start + count))
    for name in _git(["ls-files", "--others", "--exclude-standard", "-z"], root).split("\0"):
        if name:
            result[os.path.realpath(os.path.join(root, name))] = None
    return result
