"""What the client sends, read so that no message can make the server fail: the bytes of stdin, before pygls.

The protocol's messages are UTF-8 JSON. A body that is not valid UTF-8 (a broken client, a buffer in another
encoding) would make pygls's JSON decoding fail, and pygls would report that as an error pop-up while dropping
the message, so the server's copy of the document would silently stop matching the editor's. Instead, each bad
byte is read as U+FFFD, the message is handled as usual (later incremental changes still land where the editor
means them), and the documents it names are reported to the server, which logs one line for each and keeps
their last good diagnostics until their text is valid again.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import BinaryIO


class RepairingReader:
    """stdin for pygls (`readline` for headers, `read(n)` for a body), with undecodable bodies repaired."""

    def __init__(self, stream: BinaryIO, undecodable: Callable[[list[str], str], None]):
        self._stream = stream
        self._undecodable = undecodable  # called with the URIs the message names and the reason, in one line

    def readline(self) -> bytes:
        return self._stream.readline()

    def read(self, size: int) -> bytes:
        body = self._stream.read(size)
        if body.isascii():
            return body  # nearly every message: no decoding needed to know it is valid
        try:
            # As json.loads decodes bytes: a lone surrogate encoded as UTF-8 is text to it, not an error.
            body.decode("utf-8", "surrogatepass")
            return body
        except UnicodeDecodeError as error:
            reason = f"byte 0x{body[error.start]:02x} is not UTF-8"
        repaired = body.decode("utf-8", "replace").encode("utf-8")
        self._undecodable(_uris(repaired), reason)
        return repaired


def _uris(body: bytes) -> list[str]:
    """Every document URI the message's params name (a file, a notebook, its cells)."""
    try:
        message = json.loads(body)
    except ValueError:
        return []
    found: list[str] = []
    stack = [message.get("params")] if isinstance(message, dict) else []
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            uri = value.get("uri")
            if isinstance(uri, str):
                found.append(uri)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found
