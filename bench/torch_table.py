"""What the torch table costs a process: parsing autofix/semantic/torch_ops.json, against importing the CLI.

    python bench/torch_table.py [--runs 15]

Each run is a fresh interpreter (as every autofix process is) that imports `autofix.cli` (which reads the
table once: the model's factory and member lists come from it), then parses the table again, timed alone.
Medians of the runs, in milliseconds; the table is read once per process, so the second figure is its whole
cost, and it is part of the first.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

_PROBE = """
import json, time
start = time.perf_counter()
import autofix.cli
from autofix.semantic import torch_ops
imported = time.perf_counter()
torch_ops._facts.cache_clear()
torch_ops.saves_output("torch.exp")
parsed = time.perf_counter()
print(json.dumps({"import_ms": (imported - start) * 1000, "table_ms": (parsed - imported) * 1000}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    samples = [json.loads(subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                                         check=True).stdout) for _ in range(runs)]
    imports = statistics.median(s["import_ms"] for s in samples)
    table = statistics.median(s["table_ms"] for s in samples)
    print(f"import autofix.cli: {imports:.1f} ms, of which reading the torch table: {table:.2f} ms "
          f"({table / imports:.1%}); medians of {runs} fresh processes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
