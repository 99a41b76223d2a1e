"""The pinned real-code corpora the benchmarks and the precision/recall check run on, fetched once into a cache.

    python bench/corpora.py [--cache-dir .bench-cache]     # download and unpack them all

`pip download --no-deps` of public wheels; each is unpacked into <cache>/corpora/<name>/ and never modified
(tools that fix files work on copies).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

CORPORA = {
    "torch-geometric": "torch-geometric==2.8.1",
    "transformers": "transformers==5.23.0",
    "torchrl": "torchrl==0.14.1",
    "monai": "monai==1.6.1",
    "lightly": "lightly==1.6.0",
}
# Public repositories the recall bench runs on as local copies (`bench/real_code.py --tree NAME=PATH`), with the
# commit whose files were read for bench/triage.tsv. Only their .py/.ipynb files matter; the copies live outside
# this repository (for example `git --git-dir=<mirror> archive <commit> | tar -x -C /work/trees/NAME`).
REPOSITORIES = {
    "annotated-dl": ("labmlai/annotated_deep_learning_paper_implementations", "e6b3c8a6a2cdae4071bcde1abeaaf9a2bc37bd53"),
    "pytorch-tutorial": ("yunjey/pytorch-tutorial", "0500d3df5a2a8080ccfccbc00aca0eacc21818db"),
}
DEFAULT_CACHE = Path(__file__).resolve().parent.parent / ".bench-cache"


def corpus(cache: Path, name: str, requirement: str | None = None) -> Path:
    """The unpacked wheel of corpus `name` (downloaded on first use)."""
    requirement = requirement or CORPORA[name]
    wheels, target = cache / "wheels", cache / "corpora" / name
    if target.is_dir():
        return target
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(wheels), requirement],
                   check=True)
    stem = requirement.split("==")[0].replace("-", "_")
    wheel = next(w for w in wheels.glob("*.whl") if w.name.lower().startswith(stem.lower() + "-"))
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(partial)
    partial.rename(target)  # a run interrupted while unpacking leaves no half corpus behind
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    options = parser.parse_args()
    for name in CORPORA:
        print(corpus(options.cache_dir, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
