"""Real-code sweep (issue 9): run autofix over large real trees and check that nothing breaks.

For each tree, on a temporary copy: `autofix --diff` (must not crash), then `autofix --fix --unsafe-fixes`,
then every changed file must still parse, and a second `--fix --unsafe-fixes` must change nothing.
Trees: the running interpreter's standard library, the installed torch package, and the benchmark corpora
when bench/corpora.py has downloaded them (torch-geometric, transformers).

    python bench/sweep.py [--corpora DIR] [--json OUT]
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path


def trees(corpora: Path | None) -> dict[str, Path]:
    found = {"cpython-stdlib": Path(sysconfig.get_paths()["stdlib"])}
    try:
        import torch

        found["torch"] = Path(torch.__file__).parent
    except ImportError:
        pass
    if corpora and corpora.is_dir():
        for child in sorted(corpora.iterdir()):
            if child.is_dir():
                found[child.name] = child
    return found


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*.py") if p.is_file()}


def autofix(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    # `-P`: `python -m` would put the swept tree first on sys.path, and torch's own `signal.py` and `random.py`
    # would then shadow the standard library's inside autofix itself (the installed `autofix` script does not).
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    return subprocess.run([sys.executable, *safe_path, "-m", "autofix", "--no-cache", "-q", *args, "."], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})


def sweep(name: str, tree: Path) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / name
        shutil.copytree(tree, copy, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc", "site-packages"))
        before = digests(copy)
        started = time.monotonic()
        diff = autofix(["--diff", "--no-respect-gitignore"], copy)
        fixed = autofix(["--fix", "--unsafe-fixes", "--no-respect-gitignore"], copy)
        after = digests(copy)
        changed = [path for path, digest in after.items() if before.get(path) != digest]
        unparsable = []
        for path in changed:
            try:
                ast.parse((copy / path).read_bytes())
            except (SyntaxError, ValueError):
                unparsable.append(path)
        second = autofix(["--fix", "--unsafe-fixes", "--no-respect-gitignore"], copy)
        not_idempotent = [path for path, digest in digests(copy).items() if after.get(path) != digest]
        crashes = [line for out in (diff, fixed, second) for line in out.stderr.splitlines() if "Traceback" in line]
        # Internal errors: a rule that crashed, or a fix dropped because its result did not parse or converge.
        internal = [line for out in (diff, fixed, second) for line in out.stderr.splitlines() if "internal error" in line]
        dropped = [line for line in internal if "fix dropped" in line]
        codes = {diff.returncode, fixed.returncode, second.returncode}
        return {
            "tree": name,
            "files": len(before),
            "files_fixed": len(changed),
            "errors_reported": sum(1 for line in fixed.stderr.splitlines() if line.startswith("error:")),
            "crashes": len(crashes) + len(codes - {0, 1, 2}),
            "crash_lines": crashes[:5],
            "internal_errors": len(internal) - len(dropped),
            "dropped_fixes": len(dropped),
            "internal_lines": internal[:5],
            "unparsable_outputs": len(unparsable),
            "non_idempotent_files": len(not_idempotent),
            "seconds": round(time.monotonic() - started, 1),
        }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", type=Path, default=Path(os.environ.get("AUTOFIX_CORPORA", ".bench-cache/corpora")))
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    rows = [sweep(name, tree) for name, tree in trees(options.corpora).items()]
    print("| tree | files | fixed files | errors reported | crashes | internal errors | dropped fixes "
          "| unparsable outputs | non-idempotent | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['tree']} | {r['files']} | {r['files_fixed']} | {r['errors_reported']} | {r['crashes']} | "
              f"{r['internal_errors']} | {r['dropped_fixes']} | {r['unparsable_outputs']} | {r['non_idempotent_files']} "
              f"| {r['seconds']} |")
        for line in r["crash_lines"] + r["internal_lines"]:
            print(f"  {r['tree']}: {line}")
    if options.json:
        options.json.write_text(json.dumps(rows, indent=2))
    counts = ("crashes", "internal_errors", "dropped_fixes", "unparsable_outputs", "non_idempotent_files")
    return 0 if all(r[c] == 0 for r in rows for c in counts) else 1


if __name__ == "__main__":
    sys.exit(main())
