"""The pinned real-code corpora the benchmarks and the precision/recall check run on, fetched once into a cache.

    python bench/corpora.py [--cache-dir .bench-cache]     # download and unpack them all
    python bench/corpora.py --unseen                      # also the unseen wheels (development and held-out halves)

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
# Trees nobody here had read when they were added (2026-12-07), for measuring the rules on code they were not fitted
# to. They were split at random into halves before any rule work looked at them: `random.Random(
# "autofix-unseen-trees-2026-12-07").shuffle(sorted(names))`, the first seven the development half. Develop on the
# development half only; the held-out half is run, never read, until the end (its misses are reported in aggregate).
UNSEEN_WHEELS = {
    "catalyst": "catalyst==21.5",
    "flair": "flair==0.15.1",
    "neuralforecast": "neuralforecast==3.3.0",
    "pytorch-ignite": "pytorch-ignite==0.5.5",
    "pytorch-metric-learning": "pytorch-metric-learning==2.9.0",
    "pytorch-tabnet": "pytorch-tabnet==4.1.0",
    "skorch": "skorch==1.4.0",
    "tianshou": "tianshou==2.0.1",
}
UNSEEN_REPOSITORIES = {
    "a2c-ppo-acktr-gail": ("ikostrikov/pytorch-a2c-ppo-acktr-gail", "41332b78dfb50321c29bade65f9d244387f68a60"),
    "minimalrl": ("seungeunrho/minimalRL", "c8efed8481e3cd40e9739cfde220a55522555b57"),
    "nanogpt": ("karpathy/nanoGPT", "3adf61e154c3fe3fca428ad6bc3818b27a3b8291"),
    "pytorch-cifar": ("kuangliu/pytorch-cifar", "49b7aa97b0c12fe0d4054e670403a16b6b834ddd"),
    "pytorch-examples": ("pytorch/examples", "77f55b912142e11fcfdf5b530231fb9c52f181e8"),
    "td3": ("sfujim/TD3", "34770ccdcb51df6f6c7d85c1ba7e40d71b940d16"),
}
HALVES = {
    **{name: "development" for name in ("a2c-ppo-acktr-gail", "flair", "pytorch-cifar", "pytorch-examples",
                                         "pytorch-metric-learning", "td3", "tianshou")},
    **{name: "held-out" for name in ("catalyst", "minimalrl", "nanogpt", "neuralforecast", "pytorch-ignite",
                                      "pytorch-tabnet", "skorch")},
}
DEFAULT_CACHE = Path(__file__).resolve().parent.parent / ".bench-cache"


def half(name: str) -> str:
    """`visible` for the trees the rules were developed on, else the tree's half."""
    return HALVES.get(name, "visible")


def requirement_of(name: str) -> str | None:
    return CORPORA.get(name) or UNSEEN_WHEELS.get(name)


def corpus(cache: Path, name: str, requirement: str | None = None) -> Path:
    """The unpacked wheel of corpus `name` (downloaded on first use)."""
    requirement = requirement or requirement_of(name)
    if requirement is None:
        raise KeyError(f"{name}: not a pinned wheel of bench/corpora.py")
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
    parser.add_argument("--unseen", action="store_true", help="also the unseen wheels (both halves)")
    options = parser.parse_args()
    for name in [*CORPORA, *(UNSEEN_WHEELS if options.unseen else ())]:
        print(corpus(options.cache_dir, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
