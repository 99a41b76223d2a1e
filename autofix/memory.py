"""How much memory rendering a file's fixes takes, and whether this machine has it.

Detection is cheap (CPython's `ast` and the semantic model: about 150 bytes of memory per byte of source), but a
file with fixes to render is also parsed by LibCST, whose tree keeps about 650 bytes per byte of source, and its
positions, parents and the next pass's check come on top: about 1.2 KB per byte in all (measured on a generated
file of `init` functions, tools: `resource.getrusage` around `engine.check(apply=...)`). A 5 MB file took 3.8 GB
for `--diff`. Rather than let one file take the machine down, its fixes are not rendered when that estimate is
over the budget (half the memory available, at most 2 GiB); its findings are still reported, with a warning that
says why. Checking alone stays linear and small (about 150 bytes per byte of source).
"""
from __future__ import annotations

import os

FIX_BYTES_PER_SOURCE_BYTE = 1300
CAP = 2 << 30  # no file's fixes take more than this: files up to the default max-file-size (1 MiB) fit in it


def budget() -> int | None:
    """Bytes one file's fixes may take: half the memory available now, and at most CAP; AUTOFIX_MEMORY_BUDGET
    (bytes) sets it instead, for tests and for machines with memory to spare. None when nothing is known."""
    given = os.environ.get("AUTOFIX_MEMORY_BUDGET")
    if given and given.isdigit():
        return int(given)
    have = available()
    return None if have is None else min(have // 2, CAP)


def available() -> int | None:
    """Bytes of memory available now (MemAvailable on Linux; else physical memory), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def refusal(size: int) -> str | None:
    """Why the fixes of a file of `size` characters are not rendered (one line), or None when they can be."""
    need = size * FIX_BYTES_PER_SOURCE_BYTE
    limit = budget()
    if limit is None or need <= limit:
        return None
    return (f"fixes not rendered: rendering them would take about {_size(need)} of memory, over the {_size(limit)} "
            "one file may take (AUTOFIX_MEMORY_BUDGET sets it); its findings are reported unfixed")


def _size(count: int) -> str:
    return f"{count / 2**30:.1f} GiB" if count >= 2**30 else f"{count / 2**20:.0f} MiB"
