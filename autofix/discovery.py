"""Which files to check: the paths given, and the Python files and Jupyter notebooks below the directories given."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator

import pathspec

from autofix.config import Settings

CHECKED_SUFFIXES = (".py", ".ipynb")


@dataclass(frozen=True)
class DiscoveryError:
    path: str
    reason: str
    fatal: bool = True  # False: a warning (the run goes on and its exit code is unaffected)


class GitIgnore:
    """What git ignores: `.gitignore` files (each relative to its own folder) and `.git/info/exclude`.

    Files are loaded once per folder, as the walk reaches it (and for the folders above a starting
    directory, up to the repository root).
    """

    def __init__(self) -> None:
        self._specs: dict[str, pathspec.PathSpec | None] = {}

    def _spec(self, folder: str) -> pathspec.PathSpec | None:
        if folder not in self._specs:
            lines: list[str] = []
            for name in (".gitignore", os.path.join(".git", "info", "exclude")):
                try:
                    with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as handle:
                        lines += handle.read().splitlines()
                except OSError:
                    pass
            self._specs[folder] = pathspec.GitIgnoreSpec.from_lines(lines) if lines else None
        return self._specs[folder]

    def ignored(self, path: str, is_dir: bool) -> bool:
        path = os.path.abspath(path)
        folder = os.path.dirname(path)
        while True:
            spec = self._spec(folder)
            if spec is not None:
                relative = os.path.relpath(path, folder).replace(os.sep, "/") + ("/" if is_dir else "")
                # The innermost .gitignore with a matching pattern decides, a `!negation` included, as in git.
                verdict = spec.check_file(relative).include
                if verdict is not None:
                    return verdict
            if os.path.isdir(os.path.join(folder, ".git")):
                return False  # the repository root: nothing above it applies
            parent = os.path.dirname(folder)
            if parent == folder:
                return False
            folder = parent


def discover(paths: list[str], settings: Settings, respect_gitignore: bool = True) -> Iterator[str | DiscoveryError]:
    """Yield file paths to check (sorted within each directory), or errors for paths that cannot be used.

    A file named explicitly is checked even if its name does not end in .py or it lies in a directory that
    is skipped by default (like ruff); an `--exclude` glob still applies to it, as pre-commit users expect.
    """
    seen: set[str] = set()
    gitignore = GitIgnore() if respect_gitignore else None
    for path in paths:
        if not os.path.lexists(path):
            yield DiscoveryError(path, "no such file or directory")
        elif os.path.isdir(path):
            yield from _walk(path, settings, seen, gitignore)
        elif not os.path.exists(path):
            yield DiscoveryError(path, "broken symbolic link")
        elif not settings.is_excluded(path, defaults=False):
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                yield path


def _walk(top: str, settings: Settings, seen: set[str], gitignore: GitIgnore | None) -> Iterator[str | DiscoveryError]:
    visited_dirs: set[str] = set()
    errors: list[DiscoveryError] = []

    def on_error(error: OSError) -> None:
        errors.append(DiscoveryError(error.filename or top, error.strerror or str(error)))

    for directory, dirnames, filenames in os.walk(top, onerror=on_error, followlinks=True):
        real = os.path.realpath(directory)
        if real in visited_dirs:  # a symlink loop, or a second way into the same directory
            dirnames[:] = []
            yield DiscoveryError(directory, "symbolic link to a directory already visited (a loop?); not followed", False)
            continue
        visited_dirs.add(real)
        dirnames[:] = sorted(
            d for d in dirnames
            if not settings.is_excluded(os.path.join(directory, d))
            and not (gitignore and gitignore.ignored(os.path.join(directory, d), is_dir=True))
        )
        for name in sorted(filenames):
            if not name.endswith(CHECKED_SUFFIXES):
                continue
            path = os.path.join(directory, name)
            if settings.is_excluded(path) or (gitignore and gitignore.ignored(path, is_dir=False)):
                continue
            real_file = os.path.realpath(path)
            if real_file in seen:
                continue
            seen.add(real_file)
            yield path
        yield from errors
        errors.clear()
    yield from errors
