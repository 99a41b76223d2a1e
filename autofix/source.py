"""Reading and writing Python source files without changing a byte that no fix touched.

Encoding (PEP 263 declarations and the UTF-8 BOM), line endings (CRLF stays CRLF, mixed stays mixed),
the trailing-newline state and the file mode all survive a rewrite; writes are atomic.
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
import tokenize
from dataclasses import dataclass

from autofix.interrupts import signals_deferred


class SourceError(Exception):
    """A file that cannot be read or decoded; the message is one line naming the reason."""


@dataclass(frozen=True)
class Source:
    text: str  # decoded, line endings untouched, without the BOM
    encoding: str  # as detected: "utf-8", "utf-8-sig" (a BOM), "latin-1", ...
    digest: str  # of the raw bytes, to notice a file changed by someone else before we write it

    @property
    def has_bom(self) -> bool:
        return self.encoding == "utf-8-sig"

    def encode(self, text: str) -> bytes:
        return text.encode(self.encoding)


def decode(raw: bytes) -> Source:
    if b"\0" in raw:
        raise SourceError("binary file (contains NUL bytes)")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as error:
        raise SourceError(f"cannot detect encoding: {error}") from None
    try:
        # newline="" semantics: str.decode never translates line endings, so CRLF survives.
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise SourceError(f"cannot decode as {encoding}: {error.__class__.__name__}") from None
    return Source(text=text, encoding=encoding, digest=hashlib.sha256(raw).hexdigest())


def read(path: str) -> Source:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise SourceError(error.strerror or str(error)) from None
    return decode(raw)


def write_atomic(path: str, source: Source, new_text: str) -> None:
    """Replace `path` with `new_text`, or raise SourceError and leave the file as it was.

    The content is re-read first: if someone changed the file since we read it, we do not overwrite it.
    """
    data = source.encode(new_text)
    try:
        with open(path, "rb") as handle:
            current = handle.read()
    except OSError as error:
        raise SourceError(error.strerror or str(error)) from None
    if hashlib.sha256(current).hexdigest() != source.digest:
        raise SourceError("file changed on disk while autofix was running; not overwritten")
    try:
        mode = os.stat(path).st_mode & 0o7777
        # Mode bits first: root's os.access() says yes to every file, but a 0444 file means "do not edit".
        if not mode & 0o222 or not os.access(path, os.W_OK):
            raise SourceError("file is read-only; not overwritten")
        replace_file(path, data, mode)
    except OSError as error:
        raise SourceError(error.strerror or str(error)) from None


def replace_file(path: str, data: bytes, mode: int | None = None, durable: bool = True) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path` (atomic on POSIX and Windows:
    readers see the old content or the new, never half). `durable`: fsync before the rename. Raises OSError.

    Ctrl-C and SIGTERM are held from mkstemp to the rename: an interrupt in between would orphan the temporary
    file. The source files and the cache entries are both written this way."""
    with signals_deferred():
        fd, temporary = tempfile.mkstemp(prefix=".autofix-", suffix=".tmp", dir=os.path.dirname(os.path.abspath(path)))
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                if durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            if mode is not None:
                os.chmod(temporary, mode)
            os.replace(temporary, path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
