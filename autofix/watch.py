"""`--watch`: check again whenever a file that could change the result changes, as `ruff check --watch` does.

watchfiles (the file watcher uvicorn and others use: the Rust `notify` crate, so inotify/FSEvents/ReadDirectoryChanges
rather than polling) batches changes that arrive together, so saving ten files re-checks once.
"""
from __future__ import annotations

import datetime
import os
import sys
from typing import Callable

from autofix import render

WATCHED_SUFFIXES = (".py", ".ipynb", ".toml")  # sources, notebooks, and the configuration


def run(paths: list[str], check: Callable[[], int]) -> int:
    """Run `check` now and after every batch of relevant changes under `paths`; returns when interrupted."""
    from watchfiles import DefaultFilter, watch  # imported only in watch mode

    class Relevant(DefaultFilter):
        def __call__(self, change, path: str) -> bool:
            return path.endswith(WATCHED_SUFFIXES) and super().__call__(change, path)

    render.stderr(f"[{_now()}] Starting autofix in watch mode...")
    roots = [p for p in paths if os.path.exists(p)] or ["."]
    first = True
    # yield_on_timeout: the first (empty) batch comes once the watcher is running, so the first check runs then,
    # and a file saved while it runs is seen.
    for changes in watch(*roots, watch_filter=Relevant(), debounce=400, step=50, rust_timeout=200,
                         yield_on_timeout=True, raise_interrupt=True):
        if not (first or changes):
            continue
        if not first:
            render.stderr(f"[{_now()}] File change detected...")
        first = False
        check()
        sys.stdout.flush()  # a pipe is block-buffered: each check's output goes out whole, at once
        render.stderr(f"[{_now()}] Watching for file changes.")
    return 0


def _now() -> str:
    return datetime.datetime.now().strftime("%H:%M:%S")
