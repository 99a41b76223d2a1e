"""Installed libraries: where the active environment's packages live, so that the project index can read them.

A type checker (Pyright, ty) resolves `import torchvision` into the interpreter's search path and reads the
package's source; so does the index, for the modules a checked file actually imports. It reads the sources with
`ast` only and never imports or runs them. Their summaries go to the same cache as the project's, keyed by
content: a package's files change only with its version, so a summary is made once per package version.

What is searched: the entries of this interpreter's `sys.path` (site-packages, `.pth` additions, `PYTHONPATH`),
after the project's own roots, as Python itself orders them. Left out:

- the standard library, whose classes make no torch values, so reading it would only cost time;
- the packages whose meaning the model already knows from torch's own table and judgement (`torch`, `numpy`):
  their classes are answered by `torch_knowledge`, never by reading their code.

When a package is not installed, nothing is found and the value stays unknown, as before.
"""
from __future__ import annotations

import sys
import sysconfig
from functools import lru_cache
from pathlib import Path

# Top-level packages never read from the environment: torch's meaning comes from the torch table (reading its
# sources would be slow and say less), numpy's from torch_knowledge.
KNOWN_ELSEWHERE = frozenset({"torch", "numpy", "typing", "collections", "builtins", "__future__"})


@lru_cache(maxsize=1)
def library_roots() -> tuple[Path, ...]:
    """The directories of the environment's import path that hold third-party packages, in import order."""
    stdlib = set()
    for key in ("stdlib", "platstdlib"):
        try:
            stdlib.add(Path(sysconfig.get_paths()[key]).resolve())
        except (KeyError, OSError):
            pass
    roots = []
    for entry in sys.path:
        if not entry:
            continue  # the current directory: the project's roots already cover it
        try:
            path = Path(entry).resolve()
        except OSError:
            continue
        inside_stdlib = any(s == path or s in path.parents for s in stdlib) and "site-packages" not in path.parts
        if not path.is_dir() or inside_stdlib:
            continue
        roots.append(path)
    return tuple(dict.fromkeys(roots))


def is_read(module: str) -> bool:
    """Whether the index may read `module` from the environment (not torch, numpy, the standard library)."""
    return module.split(".", 1)[0] not in KNOWN_ELSEWHERE and module.split(".", 1)[0] not in sys.stdlib_module_names
