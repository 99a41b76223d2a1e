"""Speed and memory at monorepo scale (issue 7), side by side with ruff and TorchFix in one run.

    python bench/perf.py [--runs 3] [--cache-dir .bench-cache] [--out docs/performance.md]

Downloads the pinned corpora with `pip download --no-deps` (torch-geometric 2.8.1, transformers 5.23.0),
unpacks them, and times whole processes: autofix cold (--no-cache), autofix warm (cache filled by the cold
run), `ruff check --select ALL --no-cache`, `ruff check --no-cache` (default rules) and `torchfix` (on
torch-geometric only). Each is run --runs times; medians of wall time, CPU time (user+sys, children
included) and peak RSS (the largest single process) are reported, with the ratios the targets are stated in.
ruff and torchfix are installed into the running environment if missing.
"""
from __future__ import annotations

import argparse
import compileall
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpora import CORPORA, corpus  # noqa: E402


def ensure_tool(module: str, requirement: str) -> None:
    if shutil.which(module) is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", requirement], check=True)


def measure(command: list[str], cwd: Path) -> dict:
    """Wall and CPU seconds of the whole process tree, and the peak RSS of its largest process."""
    before = os.times()
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "NO_COLOR": "1"})
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    # On Linux, wait4's ru_maxrss is the largest of the process and every descendant it waited for (the
    # worker pool's processes included): the peak RSS of the largest single process of the tree.
    return {"wall": wall, "cpu": cpu, "rss_mb": max(usage.ru_maxrss, 0) / 1024,
            "status": os.waitstatus_to_exitcode(status)}


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def count_files(tree: Path) -> tuple[int, int]:
    files = [p for p in tree.rglob("*.py")]
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    return len(files), lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache-dir", type=Path, default=Path(".bench-cache"))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--corpus", action="append", choices=sorted(CORPORA),
                        help="only this corpus (repeatable; default torch-geometric and transformers)")
    options = parser.parse_args()
    ensure_tool("ruff", "ruff")
    ensure_tool("torchfix", "torchfix")
    # An installed wheel ships bytecode (pip compiles it), but an editable checkout, run where
    # PYTHONDONTWRITEBYTECODE is set, would recompile autofix's own modules at every start (~0.2 s a run).
    import autofix
    import codemods
    for package in (autofix, codemods):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)
    # The default cache lies inside this repository, where .gitignore excludes it: both tools must not skip it.
    autofix = [sys.executable, "-m", "autofix", "-q", "--no-respect-gitignore"]
    results = []
    for name in options.corpus or ["torch-geometric", "transformers"]:
        requirement = CORPORA[name]
        tree = corpus(options.cache_dir, name, requirement)
        files, lines = count_files(tree)
        tools = {
            "autofix cold": autofix + ["--diff", "--no-cache", "."],
            "autofix cold --no-index": autofix + ["--diff", "--no-cache", "--no-index", "."],
            "autofix warm": autofix + ["--diff", "."],
            "ruff --select ALL": ["ruff", "check", "--select", "ALL", "--no-cache", "--no-respect-gitignore", "--quiet", "--exit-zero", "."],
            "ruff (default rules)": ["ruff", "check", "--no-cache", "--no-respect-gitignore", "--quiet", "--exit-zero", "."],
        }
        if name == "torch-geometric":
            tools["torchfix"] = ["torchfix", "."]
        shutil.rmtree(tree / ".autofix_cache", ignore_errors=True)
        measure(autofix + ["--diff", "."], tree)  # fills the cache for the warm runs
        runs: dict[str, list[dict]] = {tool: [] for tool in tools}
        for _ in range(options.runs):  # interleaved, so a noisy moment hits every tool alike
            for tool, command in tools.items():
                runs[tool].append(measure(command, tree))
        row = {"corpus": name, "files": files, "lines": lines}
        for tool in tools:
            row[tool] = {k: median_of(runs[tool], k) for k in ("wall", "cpu", "rss_mb")}
        results.append(row)
        print(name, {t: round(row[t]["wall"], 2) for t in tools}, flush=True)
        shutil.rmtree(tree / ".autofix_cache", ignore_errors=True)

    report = render(results, options.runs)
    print(report)
    if options.out:
        options.out.write_text(report)
    return 0


def render(results: list[dict], runs: int) -> str:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    out = ["# Performance", "", f"Measured by `python bench/perf.py --runs {runs}` on: {machine}.",
           f"Medians of {runs} interleaved runs of each whole process (wall seconds, CPU seconds of the process "
           "and its children, peak RSS of the largest single process).", ""]
    for row in results:
        out += [f"## {row['corpus']} ({row['files']} files, {row['lines']:,} lines)", "",
                "| tool | wall s | CPU s | peak RSS MB |", "|---|---:|---:|---:|"]
        for tool, values in row.items():
            if isinstance(values, dict):
                out.append(f"| {tool} | {values['wall']:.2f} | {values['cpu']:.2f} | {values['rss_mb']:.0f} |")
        cold, warm = row["autofix cold"]["wall"], row["autofix warm"]["wall"]
        ratio_all = cold / row["ruff --select ALL"]["wall"]
        alone = row["autofix cold --no-index"]["wall"]
        out += ["", f"- autofix cold / ruff --select ALL (wall): **{ratio_all:.2f}** (target ≤ 1.5; the goal beyond is 1.0)",
                f"- the project index's share of the cold run (wall, against `--no-index`): **{(cold - alone) / cold:.1%}**",
                f"- autofix warm / cold (wall): **{warm / cold:.1%}** (target ≤ 10%)"]
        if "torchfix" in row:
            out.append(f"- TorchFix / autofix cold (wall): **{row['torchfix']['wall'] / cold:.1f}** (target ≥ 50)")
        peak = row["autofix cold"]["rss_mb"]
        out.append(f"- autofix cold peak RSS of any one process (driver or worker): **{peak:.0f} MB** (target ≤ 300 MB)")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
