"""A pull request as git sees it: its revisions, the Python files it changes (read from git's objects, never
from the work tree, never run), the lines it adds, and the configuration of its base.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

from autofix import gitdiff
from autofix.config import CONFIG_NAMES, ConfigError, Settings, from_table, tomllib

SYMLINK, SUBMODULE = "120000", "160000"


@dataclass(frozen=True)
class Revisions:
    base: str  # the target branch's commit (configuration comes from here)
    head: str  # the pull request's commit (code comes from here)
    merge_base: str  # where the pull request's diff starts, as GitHub and GitLab show it


@dataclass(frozen=True)
class ChangedFile:
    path: str  # at the head, relative to the repository root, forward slashes
    old_path: str  # at the merge base (differs when renamed)
    blob: str  # the head's object for it
    added: frozenset[int]  # 1-based lines at the head that the pull request adds or changes


@dataclass(frozen=True)
class Refused:
    path: str
    reason: str  # one line


def revisions(root: str, base: str, head: str) -> Revisions:
    base_commit, head_commit = gitdiff.commit(base, root), gitdiff.commit(head, root)
    return Revisions(base_commit, head_commit, gitdiff.merge_base(base_commit, head_commit, root))


def base_settings(root: str, revisions: Revisions, base_name: str) -> Settings:
    """The base's root configuration (`.autofix.toml`, `autofix.toml`, else `[tool.autofix]` of pyproject.toml,
    as on disk), so that a pull request cannot turn rules off for itself."""
    for name in CONFIG_NAMES:
        spec = f"{revisions.base}:{name}"
        if not gitdiff.exists(spec, root):
            continue
        where = f"{base_name}:{name}"
        try:
            data = tomllib.loads(gitdiff.blob(spec, root).decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"{where}: cannot read: {error}") from None
        disk = Path(root) / name  # settings need a root for their globs; messages name the revision
        tool = data.get("tool", {})
        if name == "pyproject.toml" and not (isinstance(tool, dict) and "autofix" in tool):
            continue
        try:
            if isinstance(tool, dict) and "autofix" in tool:
                return from_table(tool["autofix"], disk)
            return from_table({k: v for k, v in data.items() if k != "tool"}, disk, top_level=True)
        except ConfigError as error:
            raise ConfigError(str(error).replace(str(disk), where, 1)) from None
    return Settings(root=Path(root))


def changed_python_files(root: str, revisions: Revisions) -> list[ChangedFile | Refused]:
    """The .py files the pull request adds, modifies or renames, as they are at its head."""
    added = gitdiff.added_between(revisions.merge_base, revisions.head, root)
    result: list[ChangedFile | Refused] = []
    for entry in gitdiff.entries(revisions.merge_base, revisions.head, root):
        reason = escapes(entry.path)
        if reason is None and entry.mode == SYMLINK:
            target = gitdiff.blob(entry.blob, root).decode("utf-8", "replace")
            if escapes(posixpath.join(posixpath.dirname(entry.path), target)):
                reason = f"symlink pointing outside the repository ({target!r})"
            else:
                continue  # the file it points to is reviewed under its own name, if the pull request changes it
        if reason is not None:
            result.append(Refused(entry.path, f"refused: {reason}"))
        elif entry.mode != SUBMODULE and entry.path.endswith(".py"):
            result.append(ChangedFile(entry.path, entry.old_path, entry.blob, frozenset(added.get(entry.path, ()))))
    return result


def escapes(path: str) -> str | None:
    """Why `path` (relative to the repository root) would lead outside it, or None when it stays inside."""
    if path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        return "absolute path"
    normal = posixpath.normpath(path.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        return "path leads outside the repository"
    return None


def read(root: str, changed: ChangedFile) -> bytes:
    return gitdiff.blob(changed.blob, root)
