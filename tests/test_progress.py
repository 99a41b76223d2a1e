"""The progress bar: only on a terminal, and only once a run has taken a while (AUTOFIX_PROGRESS_DELAY seconds,
1 by default). The delay is set here to 0 or an hour, so what is asserted does not depend on how fast a run is."""
from __future__ import annotations

import os
import pty
import subprocess

from conftest import autofix_command

BUGGY = "import torch\n\n\ndef init(m: torch.nn.Linear):\n    m.weight.data.normal_(0.0, 0.02)\n"


def stderr_on_a_terminal(args: list[str], cwd, delay: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update({"TERM": "xterm-256color", "COLUMNS": "120", "AUTOFIX_PROGRESS_DELAY": delay})
    leader, follower = pty.openpty()
    process = subprocess.Popen(autofix_command() + args, cwd=cwd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=follower, env=env, close_fds=True)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    process.wait(timeout=120)
    return b"".join(chunks).decode(errors="replace")


def test_the_bar_shows_only_on_a_terminal_once_the_run_takes_longer_than_the_delay(tmp_path):
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text(BUGGY)
    assert "checking" in stderr_on_a_terminal(["check", "--no-cache", "."], tmp_path, "0")
    assert "checking" not in stderr_on_a_terminal(["check", "--no-cache", "."], tmp_path, "3600")
    assert "checking" not in stderr_on_a_terminal(["check", "--no-cache", "-q", "."], tmp_path, "0")
    piped = subprocess.run(autofix_command() + ["check", "--no-cache", "."], cwd=tmp_path, capture_output=True,
                           env={**os.environ, "AUTOFIX_PROGRESS_DELAY": "0"})
    assert b"checking" not in piped.stderr
