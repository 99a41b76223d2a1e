"""The nearest configuration (`.autofix.toml`, `autofix.toml` or `[tool.autofix]` in a pyproject.toml), validated,
merged with command-line flags."""
from __future__ import annotations

import fnmatch
import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from autofix.registry import unknown_selectors


class ConfigError(Exception):
    """Invalid configuration; the message is one line naming the file and the problem."""


# Directories nobody wants scanned; like ruff's default excludes.
DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", ".eggs", "__pycache__", "node_modules",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".autofix_cache", "build", "dist", "site-packages",
    ".ipynb_checkpoints",
)


@dataclass
class Settings:
    select: list[str] = field(default_factory=lambda: ["ALL"])
    ignore: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    unsafe_fixes: bool = False
    preview: bool = False  # run preview rules too
    max_file_size: int = 1 << 20  # bytes of source; bigger files a rule could fire on are reported, not parsed
    root: Path = field(default_factory=Path.cwd)  # the directory globs in the config are relative to
    source: str | None = None  # the config file used, for messages

    def is_excluded(self, path: str, defaults: bool = True) -> bool:
        """True when `path` (or one of its directories) matches an exclude glob (and a default one, with `defaults`)."""
        patterns = (*DEFAULT_EXCLUDE, *self.exclude) if defaults else tuple(self.exclude)
        if not patterns:
            return False
        matches = _any_of(patterns)
        relative = _relative(path, self.root)
        normcase = os.path.normcase  # as fnmatch.fnmatch does: case-insensitive on Windows
        return bool(matches(normcase(relative))) or any(matches(normcase(p)) for p in PurePosixPath(relative).parts)

    def ignored_for(self, path: str) -> list[str]:
        relative = _relative(path, self.root)
        name = os.path.basename(path)
        ignored: list[str] = []
        for pattern, codes in self.per_file_ignores.items():
            if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(name, pattern):
                ignored.extend(codes)
        return ignored


@functools.lru_cache(maxsize=16)
def _any_of(patterns: tuple[str, ...]):
    """One compiled regex for all the globs: the walk asks about every file and folder, and matching each glob
    with fnmatch separately cost more than a fifth of a second on a 655-file tree."""
    return re.compile("|".join(f"(?:{fnmatch.translate(os.path.normcase(p))})" for p in patterns)).match


@functools.lru_cache(maxsize=8)
def _resolved(root: Path) -> str:
    return str(root.resolve())


def _relative(path: str, root: Path) -> str:
    # Called for every file and folder of the walk: plain string work, the root resolved once.
    absolute, base = os.path.abspath(path), _resolved(root)
    if absolute == base:
        return "."
    if absolute.startswith(base.rstrip(os.sep) + os.sep):
        return absolute[len(base.rstrip(os.sep)) + 1:].replace(os.sep, "/")
    return Path(path).as_posix()


_LIST_KEYS = {"select", "ignore", "extend-select", "exclude", "extend-exclude"}
_KNOWN_KEYS = _LIST_KEYS | {"per-file-ignores", "unsafe-fixes", "max-file-size", "preview"}


CONFIG_NAMES = (".autofix.toml", "autofix.toml", "pyproject.toml")  # in a folder, the first that configures wins


def find_config(start: Path, stop: Path | None = None) -> Path | None:
    """The nearest configuration at or above `start` (and not above `stop`, when given), with ruff's precedence
    (`.ruff.toml`, `ruff.toml`, `pyproject.toml`): in each folder `.autofix.toml`, then `autofix.toml` (top-level
    keys; any such file counts, even empty), then a `pyproject.toml` that has a [tool.autofix] table."""
    directories = (start, *start.parents)
    if stop is not None:
        directories = tuple(d for d in directories if d == stop or stop in d.parents)
    for directory in directories:
        for name in CONFIG_NAMES[:2]:
            if (directory / name).is_file():
                return directory / name
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and "autofix" in _read(candidate).get("tool", {}):
            return candidate
    return None


def _read(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None


def load(path: Path | None, given: bool = False) -> Settings:
    """The settings in `path`: its [tool.autofix] table, or, in a file not named pyproject.toml, its top-level
    keys (an autofix.toml). `given` (the file named by --config): a file with neither is an error, not the
    defaults, since a user who names a file means its settings to apply."""
    if path is None:
        return Settings()
    data = _read(path)
    tool = data.get("tool", {})
    if isinstance(tool, dict) and "autofix" in tool:
        return from_table(tool["autofix"], path)
    if path.name != "pyproject.toml":
        own = {k: v for k, v in data.items() if k != "tool"}
        if own or not given:
            return from_table(own, path, top_level=True)
    if given:
        raise ConfigError(f"{path}: no autofix settings: neither top-level keys (as in autofix.toml) "
                          "nor a [tool.autofix] table")
    return Settings(root=path.parent.resolve(), source=str(path))


def from_table(table: dict, path: Path, top_level: bool = False) -> Settings:
    where = str(path) if top_level else f"{path}: [tool.autofix]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    for key, value in table.items():
        if key not in _KNOWN_KEYS:
            raise ConfigError(f"{where}: unknown key '{key}' (known: {', '.join(sorted(_KNOWN_KEYS))})")
        if key in _LIST_KEYS and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ConfigError(f"{where}: '{key}' must be a list of strings")
    settings = Settings(root=path.parent.resolve(), source=str(path))
    if "select" in table:
        settings.select = list(table["select"])
    settings.select += table.get("extend-select", [])
    settings.ignore = list(table.get("ignore", []))
    settings.exclude = list(table.get("exclude", [])) + list(table.get("extend-exclude", []))
    unsafe = table.get("unsafe-fixes", False)
    if not isinstance(unsafe, bool):
        raise ConfigError(f"{where}: 'unsafe-fixes' must be true or false")
    settings.unsafe_fixes = unsafe
    preview = table.get("preview", False)
    if not isinstance(preview, bool):
        raise ConfigError(f"{where}: 'preview' must be true or false")
    settings.preview = preview
    size = table.get("max-file-size", settings.max_file_size)
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise ConfigError(f"{where}: 'max-file-size' must be a positive number of bytes")
    settings.max_file_size = size
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict) or not all(
        isinstance(v, list) and all(isinstance(c, str) for c in v) for v in per_file.values()
    ):
        raise ConfigError(f"{where}: 'per-file-ignores' must map globs to lists of rule codes")
    settings.per_file_ignores = {k: list(v) for k, v in per_file.items()}
    check_selectors(
        [*settings.select, *settings.ignore, *(c for v in settings.per_file_ignores.values() for c in v)], where
    )
    return settings


def check_selectors(selectors: list[str], where: str) -> None:
    unknown = unknown_selectors(selectors)
    if unknown:
        raise ConfigError(f"{where}: unknown rule selector {', '.join(repr(u) for u in unknown)} (see `autofix rules`)")
