"""A folder of notebooks versus the same code as .py files: what reading cells out of JSON costs.

    python bench/notebooks.py [--count 200] [--runs 3] [--jobs N]

Writes --count notebooks shaped like training notebooks (markdown, magics, shell escapes, a %%bash cell,
a training loop with a GF101 and a GF501 finding, a stream output and a PNG output) and, beside them, the
same code cells as .py files; then times `autofix --no-cache` on each folder (whole processes, median of
--runs: wall time, and CPU time, which a busy machine disturbs less) and prints a markdown table row for each.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
CODE = [
    "%matplotlib inline\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F",
    "!pip install -q torchvision",
    "%%bash\nnvidia-smi -L || true",
    ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc1 = nn.Linear(16, 32)\n"
    "        self.fc2 = nn.Linear(32, 4)\n\n    def forward(self, x):\n        return self.fc2(F.relu(self.fc1(x)))"),
    ("model = Net()\nfor p in model.fc1.parameters():\n    p.require_grad = False\nfor p in model.fc2.parameters():\n"
    "    p.detach().normal_(0, 0.02)"),
    "opt = torch.optim.SGD(model.parameters(), lr=0.1)\nx, y = torch.randn(64, 16), torch.randint(0, 4, (64,))",
    ("%%time\nfor step in range(100):\n    opt.zero_grad()\n    loss = F.cross_entropy(model(x), y)\n    loss.backward()\n"
    "    opt.step()"),
    "print(loss.item())\nmodel?",
]


def notebook(index: int) -> dict:
    cells = [{"cell_type": "markdown", "id": f"m{index}", "metadata": {}, "source": [f"# Experiment {index}\n"]}]
    for number, source in enumerate(CODE):
        cells.append({"cell_type": "code", "execution_count": number + 1, "id": f"c{index}-{number}", "metadata": {},
                      "outputs": [{"name": "stdout", "output_type": "stream", "text": ["1.386\n"]},
                                  {"data": {"image/png": PNG, "text/plain": ["<Figure>"]}, "metadata": {},
                                   "output_type": "display_data"}],
                      "source": source.splitlines(keepends=True)})
    return {"cells": cells, "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def python_file() -> str:
    # The same code as a module: magics dropped, the %%bash cell left out, as autofix checks the notebook.
    lines = [line for source in CODE if not source.startswith("%%bash") for line in source.splitlines()
             if not line.startswith(("%", "!")) and not line.endswith("?")]
    return "\n".join(lines) + "\n"


def timed(command: list[str], runs: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (user + sys of the process and its workers)."""
    walls, cpus = [], []
    for _ in range(runs):
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="autofix-notebooks-"))
    try:
        for index in range(args.count):
            (root / "notebooks").mkdir(exist_ok=True)
            (root / "modules").mkdir(exist_ok=True)
            (root / "notebooks" / f"nb{index:04d}.ipynb").write_text(json.dumps(notebook(index), indent=1) + "\n")
            (root / "modules" / f"nb{index:04d}.py").write_text(python_file())
        jobs = [] if args.jobs is None else ["--jobs", str(args.jobs)]
        print(f"| folder (median of {args.runs}) | wall s | CPU s |\n|---|---:|---:|")
        for folder, label in (("notebooks", "notebooks"), ("modules", "the same code as .py files")):
            wall, cpu = timed(["autofix", "--no-cache", "-q", *jobs, str(root / folder)], args.runs)
            print(f"| {args.count} {label} | {wall:.1f} | {cpu:.1f} |", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
