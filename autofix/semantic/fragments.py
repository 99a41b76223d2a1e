"""Evidence from the ecosystem: what a name means in a fragment that never imports it.

A snippet from a bug report, a notebook cell pasted alone, a pull request's hunk: a program with its import
lines missing. Where such a file uses `nn`, `F`, `optim`, `torch`, `Variable` or `np` without binding it
anywhere, the name means what every PyTorch program means by it. A name the file binds (an import, an
assignment, a parameter, a `def`, in any cell of a notebook) always wins, and a file with a star import may
bind anything, so there nothing is assumed.
"""
from __future__ import annotations

# The spellings whose meaning the ecosystem fixed: the seven import lines every tutorial starts with.
CONVENTIONAL_IMPORTS = {
    "torch": "torch",
    "nn": "torch.nn",
    "F": "torch.nn.functional",
    "optim": "torch.optim",
    "Variable": "torch.autograd.Variable",
    "np": "numpy",
}


def conventional_import(name: str) -> str | None:
    """What an unbound `name` stands for in a fragment (None: the ecosystem fixes no meaning for it)."""
    return CONVENTIONAL_IMPORTS.get(name)
