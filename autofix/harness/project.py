"""Project mode: two copies of the user's project, one as written and one with every fix applied.

Training code rarely lives in one file (the model in model.py, the loop in train.py), so the fixes go to
every Python file of the project, and both copies run from a temporary folder: imports resolve to the
copy they belong to, and the user's files are only ever read.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from autofix import executor, source
from autofix.config import DEFAULT_EXCLUDE, find_config, load
from autofix.discovery import DiscoveryError, discover
from autofix.registry import select_rules
from autofix.runner import FileOutcome, Job, applicable

# Copied twice; a folder this big is not only code (a dataset beside the script): ask for --project.
MAX_PROJECT_BYTES = 256 * 1024 * 1024


class ProjectError(Exception):
    """The project cannot be copied or fixed; the message is one line naming the path and the reason."""


@dataclass
class FixedProject:
    root: str  # the user's project folder (absolute)
    outcomes: list[FileOutcome] = field(default_factory=list)  # one per Python file checked
    warnings: list[str] = field(default_factory=list)  # files left as written, each with the reason

    @property
    def fixed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.after is not None]


def fix(root: str, unsafe_fixes: bool) -> FixedProject:
    """Compute the fixes for every Python file under `root`, as `autofix --fix` would; write nothing."""
    root = os.path.abspath(root)
    settings = load(find_config(Path(root)))
    job = Job(select_rules(settings.select, settings.ignore), settings, applicable(settings, True, unsafe_fixes))
    project = FixedProject(root)
    files = []
    for item in discover([root], settings):
        if isinstance(item, DiscoveryError):
            project.warnings.append(f"{_relative(item.path, root)}: {item.reason}")
        else:
            files.append(item)
    pool = executor.LocalExecutor(1 if len(files) <= 2 * executor.BATCH_SIZE else executor.default_jobs())
    try:
        for outcome in executor.run(files, job, pool):
            outcome.path = _relative(outcome.path, root)
            if outcome.error:
                project.warnings.append(f"{outcome.path}: {outcome.error}; it runs as written in both copies")
            for message in outcome.internal_errors:
                project.warnings.append(f"{outcome.path}: internal error: {message}; please report this autofix bug")
            project.outcomes.append(outcome)
    finally:
        pool.close()
    return project


def copy(project: FixedProject, destination: str, fixed: bool) -> str:
    """Copy the project into `destination` (under its own folder name), with the fixes when `fixed`."""
    target = os.path.join(destination, os.path.basename(project.root.rstrip(os.sep)) or "project")
    try:
        shutil.copytree(project.root, target, symlinks=True, ignore=_skipped)
    except (OSError, shutil.Error) as error:
        raise ProjectError(f"{project.root}: cannot copy the project: {_reason(error)}") from None
    if fixed:
        for outcome in project.fixed:
            path = os.path.join(target, outcome.path)
            try:
                original = source.read(path)  # the copy: the same encoding, BOM and line endings as the user's
                with open(path, "wb") as handle:
                    handle.write(original.encode(outcome.after))
            except (OSError, source.SourceError) as error:
                raise ProjectError(f"{outcome.path}: cannot write the fixed copy: {error}") from None
    return target


def check_size(root: str) -> None:
    total = 0
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in DEFAULT_EXCLUDE and not os.path.islink(os.path.join(directory, d))]
        for name in filenames:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                try:
                    total += os.path.getsize(path)
                except OSError:
                    pass
    if total > MAX_PROJECT_BYTES:
        raise ProjectError(
            f"{root}: {total / 2**20:.0f} MiB to copy twice (over {MAX_PROJECT_BYTES // 2**20} MiB); "
            "keep data outside the code folder or give the code's root with --project DIR"
        )


def _skipped(folder: str, names: list[str]) -> list[str]:
    return [name for name in names if name in DEFAULT_EXCLUDE or name.endswith(".pyc")]


def _relative(path: str, root: str) -> str:
    return os.path.relpath(os.path.abspath(path), root)


def _reason(error: Exception) -> str:
    if isinstance(error, shutil.Error):
        first = error.args[0][0] if error.args and error.args[0] else None
        return f"{first[0]}: {first[2]}" if first else str(error)
    return error.strerror or str(error)
