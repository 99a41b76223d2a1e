"""Starts each probe run in a process of its own, forked from a server that has imported torch once.

Every run gets a fresh process (the probe patches torch globally, and one script must not see another's
state), but importing torch costs seconds and the scenario programs train in milliseconds. The stdlib's
"forkserver" start method imports torch once in a clean, single-threaded server process and forks each
run from it, so a run costs a fork instead of an import. CUDA is never initialised in the server (only
in each run), so forking stays safe. Where forkserver is missing (Windows) each run is spawned afresh.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import tempfile

from autofix.harness import probe

TIMEOUT = 300  # seconds per run

# What the server imports before forking: torch, and what `torch.use_deterministic_algorithms` imports
# on first use (torch._inductor.config, about 2 s). A module that is missing is skipped by the server.
PRELOAD = ["torch", "torch._inductor.config", "autofix.harness.probe"]


def _context():
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def run_probe(script: str, device: str, max_steps: int | None, extra_paths=(), args=(), cwd: str | None = None) -> dict:
    """Run `script` under the probe in a fresh process and return its measurements."""
    with tempfile.TemporaryDirectory(prefix="autofix-probe-") as scratch:
        out, log = os.path.join(scratch, "result.json"), os.path.join(scratch, "output.log")
        process = _context().Process(
            target=probe.run,
            args=(script, out, device, max_steps, list(extra_paths), list(args), cwd or os.getcwd(), log),
            daemon=False,  # the script may start its own worker processes (DataLoader)
        )
        process.start()
        process.join(TIMEOUT)
        if process.is_alive():
            process.kill()
            process.join()
            return _failure("Timeout", f"over {TIMEOUT} s")
        if not os.path.exists(out):
            last = _last_line(log)
            return _failure("ProbeFailure", f"the process ended with exit code {process.exitcode}"
                            + (f"; its last output: {last}" if last else ""))
        with open(out) as handle:
            return json.load(handle)


def _failure(kind: str, message: str) -> dict:
    return {"exception": {"type": kind, "message": message, "line": None}}


def _last_line(path: str) -> str:
    try:
        with open(path, errors="replace") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""
