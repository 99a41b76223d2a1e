"""Speed and memory at monorepo scale (issue 7), side by side with ruff and TorchFix in one run.

    python bench/perf.py [--runs 3] [--cache-dir .bench-cache] [--out docs/performance.md] [--corpus NAME]...
                         [--generated 1000,2000,4000] [--no-corpora] [--baseline-src PATH]

Downloads the pinned corpora with `pip download --no-deps` (torch-geometric 2.8.1, transformers 5.23.0),
unpacks them, and times whole processes: autofix cold (--no-cache), autofix warm (cache filled by the cold
run), `ruff check --select ALL --no-cache`, `ruff check --no-cache` (default rules) and `torchfix` (on
torch-geometric only). Each is run --runs times; medians of wall time, CPU time (user+sys, children
included) and peak RSS (the largest single process) are reported, with the ratios the targets are stated in.
ruff and torchfix are installed into the running environment if missing. TorchFix, minutes a run, runs in the
first round only.

The generated module (issue 29): N small nn.Module classes, each with an init write through `.data` (a GF101
finding with a safe fix) and a training-step function, at each size of --generated; autofix check and `--diff`
against `ruff check --select ALL` on the same file, and the slope (time ratio per doubling of N).

--baseline-src PATH adds the same autofix runs with PYTHONPATH=PATH (a checkout of an older commit's `autofix`
and `codemods`), interleaved with the others: before/after ratios from one run on one machine.
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


def measure(command: list[str], cwd: Path, env: dict | None = None) -> dict:
    """Wall and CPU seconds of the whole process tree, and the peak RSS of its largest process."""
    before = os.times()
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "NO_COLOR": "1", **(env or {})})
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


HEADER = "import torch\nfrom torch import nn\n\n\n"
BLOCK = '''class Block{i}(nn.Module):
    def __init__(self, dim=16):
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        self.proj.weight.data.normal_(0.0, 0.02)

    def forward(self, x):
        return torch.relu(self.proj(x))


def train_step{i}(model, batch, optimizer):
    optimizer.zero_grad()
    loss = model(batch).pow(2).mean()
    loss.backward()
    optimizer.step()
    return loss.item()


'''


def generated_module(cache: Path, classes: int) -> Path:
    """A folder holding generated.py (`classes` blocks) and a pyproject.toml that lets autofix check it whole."""
    folder = cache / "generated" / f"c{classes}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text("[tool.autofix]\nmax-file-size = 100000000\n")
    (folder / "generated.py").write_text(HEADER + "".join(BLOCK.format(i=i) for i in range(classes)))
    return folder


def interleaved(tools: dict[str, tuple[list[str], dict | None]], cwd: Path, runs: int,
                once: tuple[str, ...] = ()) -> dict[str, dict]:
    """Medians of `runs` rounds, each running every tool once (those in `once`: the first round only)."""
    results: dict[str, list[dict]] = {tool: [] for tool in tools}
    for round_ in range(runs):  # interleaved, so a noisy moment hits every tool alike
        for tool, (command, env) in tools.items():
            if round_ and tool in once:
                continue
            results[tool].append(measure(command, cwd, env))
    return {tool: {k: median_of(r, k) for k in ("wall", "cpu", "rss_mb")} for tool, r in results.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache-dir", type=Path, default=Path(".bench-cache"))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--corpus", action="append", choices=sorted(CORPORA),
                        help="only this corpus (repeatable; default torch-geometric and transformers)")
    parser.add_argument("--no-corpora", action="store_true", help="the generated module only")
    parser.add_argument("--generated", default="1000,2000,4000",
                        help="class counts of the generated module, comma-separated ('' for none)")
    parser.add_argument("--baseline-src", type=Path, help="also time the autofix found on this PYTHONPATH")
    parser.add_argument("--baseline-max-classes", type=int, default=2000,
                        help="the baseline runs on generated modules up to this size only (a quadratic one takes minutes)")
    options = parser.parse_args()
    ensure_tool("ruff", "ruff")
    if not options.no_corpora:
        ensure_tool("torchfix", "torchfix")
    # An installed wheel ships bytecode (pip compiles it), but an editable checkout, run where
    # PYTHONDONTWRITEBYTECODE is set, would recompile autofix's own modules at every start (~0.2 s a run).
    import autofix
    import codemods
    for package in (autofix, codemods):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)
    if options.baseline_src:
        compileall.compile_dir(options.baseline_src, quiet=1)
    baseline = {"PYTHONPATH": str(options.baseline_src.resolve())} if options.baseline_src else None
    # The default cache lies inside this repository, where .gitignore excludes it: both tools must not skip it.
    autofix = [sys.executable, "-m", "autofix", "-q", "--no-respect-gitignore"]
    results = []
    for name in [] if options.no_corpora else options.corpus or ["torch-geometric", "transformers"]:
        requirement = CORPORA[name]
        tree = corpus(options.cache_dir, name, requirement)
        files, lines = count_files(tree)
        tools = {
            "autofix cold": (autofix + ["--diff", "--no-cache", "."], None),
            "autofix cold --no-index": (autofix + ["--diff", "--no-cache", "--no-index", "."], None),
            "autofix warm": (autofix + ["--diff", "."], None),
            "ruff --select ALL": (["ruff", "check", "--select", "ALL", "--no-cache", "--no-respect-gitignore", "--quiet",
                                   "--exit-zero", "."], None),
            "ruff (default rules)": (["ruff", "check", "--no-cache", "--no-respect-gitignore", "--quiet", "--exit-zero",
                                      "."], None),
        }
        if baseline:
            tools["baseline autofix cold"] = (autofix + ["--diff", "--no-cache", "."], baseline)
        if name == "torch-geometric":
            tools["torchfix"] = (["torchfix", "."], None)
        shutil.rmtree(tree / ".autofix_cache", ignore_errors=True)
        measure(autofix + ["--diff", "."], tree)  # fills the cache for the warm runs
        row = {"corpus": name, "files": files, "lines": lines,
               **interleaved(tools, tree, options.runs, once=("torchfix",))}
        results.append(row)
        print(name, {t: round(row[t]["wall"], 2) for t in tools}, flush=True)
        shutil.rmtree(tree / ".autofix_cache", ignore_errors=True)

    generated = []
    for classes in [int(n) for n in options.generated.split(",") if n.strip()]:
        folder = generated_module(options.cache_dir, classes)
        tools = {
            "autofix check": (autofix + ["--no-cache", "generated.py"], None),
            "autofix --diff": (autofix + ["--no-cache", "--diff", "generated.py"], None),
            "ruff --select ALL": (["ruff", "check", "--select", "ALL", "--no-cache", "--quiet", "--exit-zero",
                                   "generated.py"], None),
        }
        if baseline and classes <= options.baseline_max_classes:
            tools["baseline autofix check"] = (autofix + ["--no-cache", "generated.py"], baseline)
            tools["baseline autofix --diff"] = (autofix + ["--no-cache", "--diff", "generated.py"], baseline)
        row = {"classes": classes, "bytes": (folder / "generated.py").stat().st_size,
               **interleaved(tools, folder, options.runs)}
        generated.append(row)
        print(f"generated {classes}", {t: round(row[t]["wall"], 2) for t in tools}, flush=True)

    report = render(results, options.runs) + render_generated(generated, options.runs)
    print(report)
    if options.out:
        options.out.write_text(report)
    return 0


def render_generated(rows: list[dict], runs: int) -> str:
    if not rows:
        return ""
    tools = list(dict.fromkeys(t for row in rows for t in row if isinstance(row[t], dict)))
    out = ["## The generated module", "",
           f"N classes, each with an init write through `.data` and a training-step function; medians of {runs} "
           "interleaved runs (wall seconds; the ratios also in CPU seconds, which contention distorts less).", "",
           "| classes | MB | " + " | ".join(tools) + " | check / ruff (wall, CPU) | --diff / ruff (wall, CPU) "
           "| peak RSS check, --diff MB |",
           "|---:|---:|" + "---:|" * (len(tools) + 3)]
    for row in rows:
        ruff = row["ruff --select ALL"]
        check, diff = row["autofix check"], row["autofix --diff"]
        out.append(f"| {row['classes']:,} | {row['bytes'] / 1e6:.2f} | "
                   + " | ".join(f"{row[t]['wall']:.2f}" if t in row else "" for t in tools)
                   + f" | {check['wall'] / ruff['wall']:.1f}, {check['cpu'] / ruff['cpu']:.1f}"
                   f" | {diff['wall'] / ruff['wall']:.1f}, {diff['cpu'] / ruff['cpu']:.1f}"
                   f" | {check['rss_mb']:.0f}, {diff['rss_mb']:.0f} |")
    out.append("")
    for before, after in zip(rows, rows[1:]):
        factor = after["classes"] / before["classes"]
        slopes = ", ".join(f"{t} {after[t]['wall'] / before[t]['wall']:.2f}x (CPU {after[t]['cpu'] / before[t]['cpu']:.2f}x)"
                           for t in tools if t in before and t in after)
        out.append(f"- {before['classes']:,} -> {after['classes']:,} classes (x{factor:g}): {slopes}")
    out.append("")
    return "\n".join(out)


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
        if "baseline autofix cold" in row:
            base = row["baseline autofix cold"]
            out.append(f"- baseline autofix cold / ruff --select ALL (wall): {base['wall'] / row['ruff --select ALL']['wall']:.2f}; "
                       f"baseline / this autofix (wall): **{base['wall'] / cold:.2f}**, (CPU): "
                       f"**{base['cpu'] / row['autofix cold']['cpu']:.2f}**")
        out.append(f"- autofix cold / ruff --select ALL (CPU): {row['autofix cold']['cpu'] / row['ruff --select ALL']['cpu']:.2f}")
        if "torchfix" in row:
            out.append(f"- TorchFix / autofix cold (wall; TorchFix runs once): **{row['torchfix']['wall'] / cold:.1f}** "
                       "(target ≥ 50)")
        peak = row["autofix cold"]["rss_mb"]
        out.append(f"- autofix cold peak RSS of any one process (driver or worker): **{peak:.0f} MB** (target ≤ 300 MB)")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
