"""A small Language Server Protocol client over stdio, driving the installed `autofix server` as an editor does.

Synchronous on purpose: a test sends a message and waits for what it expects, with a deadline, so a server that
never answers fails the test instead of hanging it. Requests the server sends (client/registerCapability,
workspace/diagnostic/refresh) are recorded and answered with null, as a client without those features would.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

DEADLINE = 30.0  # seconds: generous for a loaded machine; a healthy server answers in milliseconds


def uri(path: Path | str) -> str:
    return Path(path).resolve().as_uri()


class Client:
    def __init__(self, cwd: Path | str, env: dict | None = None, command: list[str] | None = None):
        exe = shutil.which("autofix")
        assert exe is not None, "the `autofix` command is not installed: run `pip install -e '.[dev]'` first"
        self.process = subprocess.Popen(
            command or [exe, "server"], cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env={**os.environ, **(env or {})},
        )
        self.messages: queue.Queue = queue.Queue()
        self.notifications: list[dict] = []
        self.server_requests: list[dict] = []
        self.stderr_chunks: list[bytes] = []
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    # --- the wire -------------------------------------------------------------------------------------------
    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    self.messages.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            body = stream.read(length)
            self.messages.put(json.loads(body))

    def _drain_stderr(self) -> None:
        for chunk in iter(lambda: self.process.stderr.read1(4096), b""):
            self.stderr_chunks.append(chunk)

    def send(self, message: dict) -> None:
        self.send_body(json.dumps({"jsonrpc": "2.0", **message}).encode())

    def send_body(self, body: bytes) -> None:
        """One message as the bytes given: a broken client's, which need not be UTF-8."""
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def notify(self, method: str, params=None) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params=None, deadline: float = DEADLINE):
        self._next_id += 1
        ident = self._next_id
        self.send({"id": ident, "method": method, "params": params})
        message = self.wait(lambda m: m.get("id") == ident and "method" not in m, deadline, f"the answer to {method}")
        assert "error" not in message, f"{method} failed: {message['error']}"
        return message.get("result")

    def _take(self, timeout: float) -> dict | None:
        message = self.messages.get(timeout=timeout)
        if message is None:
            raise AssertionError(f"the server ended (exit code {self.process.wait()}); stderr: {self.stderr()}")
        if "method" in message and "id" in message:  # a request from the server
            self.server_requests.append(message)
            self.send({"id": message["id"], "result": None})
        elif "method" in message:
            self.notifications.append(message)
        return message

    def wait(self, matches, deadline: float = DEADLINE, what: str = "a message") -> dict:
        """The first message from now on (or already received notification) that `matches`."""
        end = time.monotonic() + deadline
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {what} within {deadline} s; notifications: {self.notifications[-5:]}; "
                                     f"stderr: {self.stderr()}")
            try:
                message = self._take(left)
            except queue.Empty:
                continue
            if matches(message):
                return message

    def stderr(self) -> str:
        return b"".join(self.stderr_chunks).decode(errors="replace")[-2000:]

    # --- what an editor does --------------------------------------------------------------------------------
    def initialize(self, root: Path, capabilities: dict | None = None, options: dict | None = None) -> dict:
        caps = capabilities if capabilities is not None else {
            "textDocument": {
                "publishDiagnostics": {"versionSupport": True},
                "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix", "source"]}}},
                "hover": {"contentFormat": ["markdown", "plaintext"]},
            },
            "workspace": {"workspaceEdit": {"documentChanges": True}},
        }
        result = self.request("initialize", {
            "processId": os.getpid(), "rootUri": uri(root), "capabilities": caps,
            "workspaceFolders": [{"uri": uri(root), "name": root.name}],
            "initializationOptions": options,
        })
        self.notify("initialized", {})
        return result

    def open(self, path: Path, text: str | None = None, version: int = 1) -> str:
        text = path.read_text() if text is None else text
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri(path), "languageId": "python", "version": version, "text": text}})
        return uri(path)

    def change(self, document: str, version: int, text: str) -> None:
        self.notify("textDocument/didChange", {"textDocument": {"uri": document, "version": version},
                                               "contentChanges": [{"text": text}]})

    def diagnostics(self, document: str, version: int | None = None, predicate=None, deadline: float = DEADLINE) -> list[dict]:
        """The diagnostics of the next publish for `document` (of `version`, when given) that satisfies `predicate`."""
        def matches(message):
            if message.get("method") != "textDocument/publishDiagnostics":
                return False
            params = message["params"]
            if params["uri"] != document or (version is not None and params.get("version") != version):
                return False
            return predicate is None or predicate(params["diagnostics"])

        return self.wait(matches, deadline, f"diagnostics for {document}")["params"]["diagnostics"]

    def logs(self) -> list[str]:
        self._pump()
        return [n["params"]["message"] for n in self.notifications if n["method"] == "window/logMessage"]

    def _pump(self, seconds: float = 0.2) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self._take(max(0.01, end - time.monotonic()))
            except queue.Empty:
                pass

    def shutdown(self) -> int:
        self.request("shutdown")
        self.notify("exit")
        try:
            return self.process.wait(timeout=DEADLINE)
        finally:
            self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except OSError:
                pass


def apply_edits(text: str, edits: list[dict]) -> str:
    """`text` with LSP TextEdits applied (positions in UTF-16 code units, as the server was told nothing else)."""
    lines = text.split("\n")

    def offset(position) -> int:
        line, character = position["line"], position["character"]
        if line >= len(lines):
            return len(text)
        before = sum(len(l) + 1 for l in lines[:line])
        units, column = 0, 0
        while column < len(lines[line]) and units < character:
            units += 2 if ord(lines[line][column]) > 0xFFFF else 1
            column += 1
        return before + column

    spans = sorted(((offset(e["range"]["start"]), offset(e["range"]["end"]), e["newText"]) for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def edits_of(action: dict) -> dict[str, list[dict]]:
    """uri -> TextEdits of a CodeAction's WorkspaceEdit (documentChanges or changes)."""
    edit = action.get("edit") or {}
    if "documentChanges" in edit and edit["documentChanges"] is not None:
        return {change["textDocument"]["uri"]: change["edits"] for change in edit["documentChanges"]}
    return edit.get("changes") or {}
