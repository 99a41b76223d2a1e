"""Finds the rules: every `Rule` subclass defined in a module of the `codemods` package."""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from autofix.rule import Rule


@lru_cache(maxsize=1)
def all_rules() -> tuple[type[Rule], ...]:
    import codemods

    found: list[type[Rule]] = []
    for info in pkgutil.iter_modules(codemods.__path__):
        if info.name.startswith("_"):
            continue  # shared helpers, not rules
        module = importlib.import_module(f"codemods.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value.__module__ == module.__name__:
                found.append(value)
    codes = [r.code for r in found]
    duplicated = {c for c in codes if codes.count(c) > 1}
    if duplicated:
        raise RuntimeError(f"duplicate rule codes: {sorted(duplicated)}")
    return tuple(sorted(found, key=lambda r: r.code))


def select_rules(select: list[str], ignore: list[str], preview: bool = False) -> tuple[type[Rule], ...]:
    """The rules `select` names and `ignore` does not. A preview rule needs `preview`, or its exact code or
    name in `select` (as ruff does): a prefix such as GF3 or ALL never turns one on by itself."""
    return tuple(
        r for r in all_rules()
        if r.matches(select) and not r.matches(ignore) and (preview or not r.preview or r.named_exactly(select))
    )


def unknown_selectors(selectors: list[str]) -> list[str]:
    """Selectors that name no rule (a typo in --select or config must not silently select nothing)."""
    rules = all_rules()
    return [s for s in selectors if not any(r.matches([s]) for r in rules)]
