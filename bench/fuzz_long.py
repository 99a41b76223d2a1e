"""The long fuzzing run (issue 9): the properties of tests/test_fuzz.py with a much larger budget.

    python bench/fuzz_long.py [--snippets N] [--programs N]

Prints how many programs were checked and exits non-zero at the first failing one (Hypothesis prints it).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import hypothesmith  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

from fuzzing import check_properties, torch_snippets  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--snippets", type=int, default=2000)
    parser.add_argument("--programs", type=int, default=500)
    options = parser.parse_args()
    counts = {"snippets": 0, "programs": 0}

    def budget(n):
        return settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))

    @budget(options.snippets)
    @given(torch_snippets())
    def snippets(text):
        counts["snippets"] += 1
        check_properties(text)

    @budget(options.programs)
    @given(hypothesmith.from_grammar())
    def programs(text):
        counts["programs"] += 1
        check_properties(text)

    started = time.monotonic()
    snippets()
    programs()
    print(f"{counts['snippets']} PyTorch-flavoured snippets and {counts['programs']} hypothesmith programs: "
          f"no crash, every output parses, idempotent, untouched when clean, changes local "
          f"({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
