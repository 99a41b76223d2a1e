"""The start of a process (issue 21, item 9): what `autofix` costs before it checks anything.

    python bench/startup.py [--runs 15] [--tree PATH ...]

For each tree (a checkout of autofix; default: this one), runs `python -m autofix` with that tree first on
PYTHONPATH, interleaved run by run so that the machine's load falls on all of them alike, and reports medians of:
`--version`; a small file with no finding, cold (`--no-cache`) and warm (cache filled); and, from
`-X importtime`, the cumulative microseconds of importing `libcst` (0 when the run never imports it) and of
`autofix.cli`. Pass an older checkout (`git worktree add /tmp/before REV`) as a second --tree for a before/after.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLEAN = "import torch\n\n\ndef double(x: torch.Tensor) -> torch.Tensor:\n    return x * 2\n"


def timed(tree: Path, args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + sys: what a loaded machine inflates least) of one whole run."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "autofix", *args], cwd=cwd, env=_env(tree),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def imports(tree: Path, args: list[str], cwd: Path) -> dict[str, int]:
    """Cumulative import microseconds by module name, as `-X importtime` reports them."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "autofix", *args], cwd=cwd, env=_env(tree),
                          capture_output=True, text=True, check=False)
    found: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit():
                found.setdefault(name.strip(), int(cumulative))
    return found


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree), "NO_COLOR": "1"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--tree", action="append", type=Path, help="a checkout of autofix (default: this one)")
    args = parser.parse_args()
    trees = args.tree or [ROOT]
    work = Path(tempfile.mkdtemp(prefix="autofix-startup-"))
    (work / "clean.py").write_text(CLEAN)
    cases = {"--version": ["--version"], "clean, cold": ["clean.py", "--no-cache"], "clean, warm": ["clean.py"]}
    for tree in trees:  # fill each tree's cache (its key names the autofix build)
        timed(tree, ["clean.py"], work)
    wall: dict[tuple[Path, str], list[tuple[float, float]]] = {}
    profile: dict[tuple[Path, str], list[int]] = {}
    for _ in range(args.runs):
        for tree in trees:
            for name, case in cases.items():
                wall.setdefault((tree, name), []).append(timed(tree, case, work))
            found = imports(tree, ["clean.py"], work)
            for module in ("libcst", "autofix.cli"):
                profile.setdefault((tree, module), []).append(found.get(module, 0))
    print(f"{args.runs} runs each, medians of wall / CPU (user+sys) time; Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"| tree | {' | '.join(cases)} | import libcst | import autofix.cli |")
    print("|---|" + "---:|" * (len(cases) + 2))
    for tree in trees:
        cells = [f"{statistics.median(w for w, _ in wall[tree, name]) * 1000:.0f} / "
                 f"{statistics.median(c for _, c in wall[tree, name]) * 1000:.0f} ms" for name in cases]
        cells += [f"{statistics.median(profile[tree, m]) / 1000:.0f} ms" for m in ("libcst", "autofix.cli")]
        print(f"| {tree} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
