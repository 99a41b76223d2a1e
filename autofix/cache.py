"""Results keyed by file content, tool build and effective configuration, in `.autofix_cache/` at the project root.

One small JSON file per key, written to a temporary file and renamed into place, so concurrent runs and an
interrupted run never leave a half-written entry: a reader sees a whole entry or none. A corrupt or
unreadable entry is a miss, never an error.
"""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from autofix import __version__, source

CACHE_DIR = ".autofix_cache"
LAYOUT = "v1"


@functools.lru_cache(maxsize=1)
def tool_fingerprint() -> str:
    """The version, plus a digest of the engine's and the rules' own sources: an edited rule invalidates the cache
    even in a development checkout whose version string did not change."""
    digest = hashlib.sha256(__version__.encode())
    for package in ("autofix", "codemods"):
        folder = Path(__file__).resolve().parent.parent / package
        for path in sorted(folder.rglob("*.py")):
            digest.update(path.relative_to(folder.parent).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


class Cache:
    def __init__(self, root: Path, configuration: str):
        self.folder = root / CACHE_DIR / LAYOUT
        self.base = hashlib.sha256(f"{tool_fingerprint()}\0{configuration}".encode()).hexdigest()
        self.hits = self.misses = 0

    def key(self, content_digest: str, rule_codes: tuple[str, ...], kind: str = "python") -> str:
        """`kind` ("python" or "notebook"): the same bytes mean different things as a .py file and as a notebook."""
        return hashlib.sha256(f"{self.base}\0{kind}\0{content_digest}\0{','.join(rule_codes)}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        try:
            with open(self._path(key), encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return data

    def put(self, key: str, data: dict) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._mark_folder()
            source.replace_file(str(path), json.dumps(data, separators=(",", ":")).encode(), durable=False)
        except OSError:
            pass  # a cache that cannot be written is only slower, never wrong

    def _mark_folder(self) -> None:
        top = self.folder.parent
        marker = top / ".gitignore"
        if not marker.exists():
            # Like ruff's and pytest's caches: invisible to git and to backup tools that honour CACHEDIR.TAG.
            marker.write_text("# Created by autofix automatically.\n*\n")
            (top / "CACHEDIR.TAG").write_text(
                "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by autofix.\n"
            )
