"""What changed in git: files and the added or changed lines in them, in a work tree or between two revisions.

Only plumbing that reads: nothing is checked out, and `--no-ext-diff --no-textconv` keep a repository's own
diff drivers (which could run programs) out of it.
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
# Fixed prefixes and no external drivers, whatever the user's git configuration says.
_PATCH = ["diff", "-U0", "--no-color", "--no-ext-diff", "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/"]


class GitError(Exception):
    """git is missing, this is not a repository, or the revision is unknown; one line."""


def _run(args: list[str], cwd: str) -> bytes:
    try:
        completed = subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=cwd, capture_output=True, check=False)
    except OSError as error:
        raise GitError(f"cannot run git: {error.strerror}") from None
    if completed.returncode != 0:
        message = (completed.stderr.decode(errors="replace").strip().splitlines() or ["git failed"])[-1]
        raise GitError(message.removeprefix("fatal: "))
    return completed.stdout


def _git(args: list[str], cwd: str) -> str:
    return _run(args, cwd).decode("utf-8", "surrogateescape")


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
    patch = _git([*_PATCH, "--no-renames", revision, "--"], root)
    result: dict[str, set[int] | None] = {
        os.path.realpath(os.path.join(root, name)): lines for name, lines in added_lines(patch).items()
    }
    for name in _git(["ls-files", "--others", "--exclude-standard", "-z"], root).split("\0"):
        if name:
            result[os.path.realpath(os.path.join(root, name))] = None
    return result


def added_lines(patch: str) -> dict[str, set[int]]:
    """From a `-U0` patch: each new-side path (relative, as git names it) and its added or changed lines."""
    result: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in patch.splitlines():
        if line.startswith("+++ "):
            name = unquote(line[4:].rstrip("\t"))  # git ends a name that has a space with a tab
            current = None if name == "/dev/null" else result.setdefault(name.removeprefix("b/"), set())
        elif current is not None and (match := HUNK.match(line)):
            start, count = int(match.group(1)), int(match.group(2) or "1")
            current.update(range(start, start + count))
    return result


_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote(name: str) -> str:
    """A path as git prints it in a patch header: C-quoted ("a\\tb", octal bytes) when it has odd characters."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    body, out, i = name[1:-1], bytearray(), 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            if body[i + 1] in _ESCAPES:
                out.append(_ESCAPES[body[i + 1]])
                i += 2
                continue
            if re.fullmatch(r"[0-3][0-7]{2}", body[i + 1:i + 4]):
                out.append(int(body[i + 1:i + 4], 8))
                i += 4
                continue
        out += body[i].encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "surrogateescape")


# --- between two revisions (a pull request's base and head), reading objects only -----------------------------

def commit(revision: str, root: str) -> str:
    """The full hash of the commit `revision` names."""
    if revision.startswith("-"):
        raise GitError(f"not a revision: {revision!r}")
    try:
        return _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"], root).strip()
    except GitError:
        raise GitError(f"unknown revision {revision!r} (is the history fetched? actions/checkout needs fetch-depth: 0)") from None


def merge_base(base: str, head: str, root: str) -> str:
    try:
        return _git(["merge-base", base, head], root).strip()
    except GitError:
        raise GitError(f"{base[:12]} and {head[:12]} have no common ancestor (fetch the full history: fetch-depth: 0)") from None


@dataclass(frozen=True)
class Entry:
    """One file a diff between two commits adds, modifies, renames or retypes."""

    status: str  # A, M, R or T
    mode: str  # at the new side: 100644, 100755, 120000 (a symlink), 160000 (a submodule)
    blob: str  # the new side's object
    path: str  # at the new side
    old_path: str  # at the old side (differs when renamed)


def entries(old: str, new: str, root: str) -> list[Entry]:
    raw = _git(["diff", "--raw", "-z", "-M", "--no-ext-diff", "--diff-filter=AMRT", old, new, "--"], root)
    fields = raw.split("\0")
    result, i = [], 0
    while i < len(fields) and fields[i].startswith(":"):
        _, mode, _, blob, status = fields[i][1:].split(" ")
        if status.startswith(("R", "C")):
            old_path, path, i = fields[i + 1], fields[i + 2], i + 3
        else:
            old_path = path = fields[i + 1]
            i += 2
        result.append(Entry(status[0], mode, blob, path, old_path))
    return result


def added_between(old: str, new: str, root: str) -> dict[str, set[int]]:
    """Each new-side path and its added or changed lines, renames followed (as a pull request shows them)."""
    return added_lines(_git([*_PATCH, "-M", old, new, "--"], root))


def blob(spec: str, root: str) -> bytes:
    """The bytes of an object: a blob hash, or REV:PATH."""
    return _run(["cat-file", "blob", spec], root)


def exists(spec: str, root: str) -> bool:
    try:
        _run(["cat-file", "-e", spec], root)
    except GitError:
        return False
    return True
