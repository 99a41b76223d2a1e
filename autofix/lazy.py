"""LibCST, imported the first time a fix is built rather than when a rule module is loaded.

`import libcst` costs about a quarter of a second, most of a run that has no fix to render (a clean tree, a
warm cache, `--version`). Rule modules and the engine write `from autofix.lazy import libcst as cst` and use
`cst.Name`, `cst.Call`, ... inside their fix builders as before; only module-level code must not touch `cst`.

Not `importlib.util.LazyLoader`: that puts a half-made module into `sys.modules`, which every later
`import libcst.x` (LibCST's own submodules, ours) then goes through, and it is not thread-safe before
Python 3.12. Here `libcst` is imported the ordinary way, by whoever first needs an attribute of it.
"""
from __future__ import annotations

import sys


class LazyModule:
    """Stands for a module: the first attribute read imports it, and every read is then forwarded to it.

    Reads are forwarded, not copied, so that the module stays the one source of truth (a test that patches
    `libcst.parse_module` patches what the engine calls).
    """

    def __init__(self, name: str):
        self._name = name
        self._module = None

    def __getattr__(self, attribute: str):
        module = self._module
        if module is None:
            # The import statement's own path (not importlib.import_module), so that `-X importtime` lists it.
            __import__(self._name)
            module = self._module = sys.modules[self._name]
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazily imported module {self._name!r}>"


libcst = LazyModule("libcst")
