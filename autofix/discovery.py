"""Which files to check: the paths given, and the Python files below the directories given."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator

from autofix.config import Settings


@dataclass(frozen=True)
class DiscoveryError:
    path: str
    reason: str


def discover(paths: list[str], settings: Settings) -> Iterator[str | DiscoveryError]:
    """Yield file paths to check (sorted within each directory), or errors for paths that cannot be used.

    A file named explicitly is checked even if its name does not end in .py or it lies in a directory that
    is skipped by default (like ruff); an `--exclude` glob still applies to it, as pre-commit users expect.
    """
    seen: set[str] = set()
    for path in paths:
        if not os.path.lexists(path):
            yield DiscoveryError(path, "no such file or directory")
        elif os.path.isdir(path):
            yield from _walk(path, settings, seen)
        elif not os.path.exists(path):
            yield DiscoveryError(path, "broken symbolic link")
        elif not settings.is_excluded(path, defaults=False):
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                yield path


def _walk(top: str, settings: Settings, seen: set[str]) -> Iterator[str | DiscoveryError]:
    visited_dirs: set[str] = set()
    errors: list[DiscoveryError] = []

    def on_error(error: OSError) -> None:
        errors.append(DiscoveryError(error.filename or top, error.strerror or str(error)))

    for directory, dirnames, filenames in os.walk(top, onerror=on_error, followlinks=True):
        real = os.path.realpath(directory)
        if real in visited_dirs:  # a symlink loop, or a second way into the same directory
            dirnames[:] = []
            continue
        visited_dirs.add(real)
        dirnames[:] = sorted(
            d for d in dirnames if not settings.is_excluded(os.path.join(directory, d))
        )
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            if settings.is_excluded(path):
                continue
            real_file = os.path.realpath(path)
            if real_file in seen:
                continue
            seen.add(real_file)
            yield path
        yield from errors
        errors.clear()
    yield from errors
