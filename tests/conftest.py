"""Shared helpers: the installed `autofix` command, run as a user runs it."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SNAPSHOTS = ROOT / "snapshots"


def autofix_command() -> list[str]:
    exe = shutil.which("autofix")
    if exe is None:
        pytest.fail("the `autofix` command is not installed: run `pip install -e '.[dev]'` first")
    return [exe]


def run(args: list[str], cwd: Path | str, stdin: bytes | None = None, env: dict | None = None):
    """Run the installed CLI; returns CompletedProcess with bytes stdout/stderr."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("FORCE_COLOR", None)
    return subprocess.run(
        autofix_command() + args,
        cwd=cwd,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=full_env,
        timeout=120,
    )


@pytest.fixture
def cli():
    return run
