"""`autofix server`: the Language Server Protocol over stdio, on pygls.

What an editor gets: the findings of `autofix` as diagnostics (pushed, or pulled by clients that ask), a quick fix
per finding, "fix all" (`source.fixAll.autofix`), "ignore on this line", and `autofix explain` on hover. Edits go
back as WorkspaceEdits: the server never writes a file, runs nothing from the project, and reads only the
project's `pyproject.toml` files, inside the workspace.

Speed: a change checks only the changed document, and in it only the chunks (top-level definitions) the edit can
change (`incremental.py`); the others keep their findings, moved. Changes that come faster than a check takes
are coalesced (debounced), and work for a text that has changed since is never started. Once typing pauses the
whole document is checked again, on the engine's fast path (CPython's parser and the semantic model), which is
what fixes are built from: one group of linked chunks at a time, abandoned at the next change. Each finding's own fix needs LibCST, which costs ten times a check: it is built on a
worker thread once typing pauses and published again in the diagnostics' `data`, and built at once when a code
action asks first.
"""
from __future__ import annotations

import asyncio
import gc
import io
import itertools
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from autofix import __version__, render
from autofix.config import ConfigError, Settings, find_config, load
from autofix.registry import all_rules
from autofix.rule import Applicability
from autofix.server import incremental, noqa
from autofix.server.analysis import (
    Analysis,
    Pieces,
    Place,
    Replacement,
    Result,
    analyse,
    analyse_edit,
    chunked,
)

SOURCE = "autofix"
FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.autofix"
# How long a document must stay unchanged before its quick fixes are built and the other open documents of its
# workspace are checked again: long enough that typing never waits for LibCST.
IDLE_SECONDS = 0.3
# Debounce: a change that comes less than one check's time after the previous one (a paste, a burst of edits) waits
# until the document has been quiet that long, and only the newest text is checked; never more than this long.
MAX_DEBOUNCE_SECONDS = 0.1
# Between two pieces of the whole check after a pause (see _check_in_pieces).
PIECE_PAUSE_SECONDS = 0.005
_serials = itertools.count(1)


@dataclass
class Tracked:
    """An open document (a file, or a notebook of cells) and what the server last made of it."""

    uri: str  # the file's, or the notebook's
    notebook: bool
    generation: int = 0  # counts changes; an analysis of an older generation is out of date
    analysis: Analysis | None = None  # the last good one (a document that stopped parsing keeps it)
    checked: int = -1  # the generation last checked, good or not
    published: dict[str, list[types.Diagnostic]] = field(default_factory=dict)  # by file or cell URI
    task: asyncio.Task | None = None
    logged: set[str] = field(default_factory=set)  # lines logged about it, so that each keystroke does not repeat one
    undecodable: bool = False  # the client sent bytes of it that are not UTF-8: read as U+FFFD, not checked
    summaries: incremental.Summaries = field(default_factory=incremental.Summaries)  # of its chunks, by text
    changed_at: float = 0.0  # time.monotonic() of the last change, and of the one before
    previous_change_at: float = 0.0
    check_seconds: float = 0.0  # how long its last check took


class FixWorker:
    """One daemon thread that builds quick fixes, one document at a time (two at once would only share the GIL).

    A daemon, so that `exit` ends the process at once even in the middle of a large file's LibCST work, which
    nobody will read any more."""

    def __init__(self):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def run(self, function, *args) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="autofix-fixes", daemon=True)
            self._thread.start()
        self._jobs.put((loop, future, function, args))
        return future

    def _work(self) -> None:
        while True:
            loop, future, function, args = self._jobs.get()
            try:
                outcome, failed = function(*args), False
            except BaseException as error:  # noqa: BLE001 - handed to the waiting coroutine, which logs it
                outcome, failed = error, True
            try:
                loop.call_soon_threadsafe(_settle, future, outcome, failed)
            except RuntimeError:  # the loop has closed: the server is exiting
                return


def _settle(future: asyncio.Future, outcome, failed: bool) -> None:
    if future.cancelled():
        return
    if failed:
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class AutofixServer(LanguageServer):
    def __init__(self):
        super().__init__(
            "autofix", __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=types.NotebookDocumentSyncOptions(
                notebook_selector=[types.NotebookDocumentFilterWithCells(
                    cells=[types.NotebookCellLanguage(language="python")])],
                save=True,
            ),
        )
        self.tracked: dict[str, Tracked] = {}
        self.settings_cache: dict[tuple[Path | None, Path], Settings] = {}
        self.config_of: dict[tuple[str, str], Path | None] = {}
        self.client_unsafe = False
        self.shut_down = False
        self.fixes = FixWorker()
        # URI -> why: documents named by a message whose body was not UTF-8 (set by the stdin reader's thread).
        self.undecodable: dict[str, str] = {}
        self._reporting = False

    # --- what the client can do ---------------------------------------------------------------------------------
    @property
    def pulls(self) -> bool:
        """A client that pulls diagnostics gets them only when it asks (pushed too, they would show twice)."""
        caps = self.client_capabilities.text_document
        return caps is not None and caps.diagnostic is not None

    def _supports(self, *path: str) -> bool:
        value = self.client_capabilities
        for name in path:
            value = getattr(value, name, None)
            if value is None:
                return False
        return bool(value)

    def log(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        # One line, and sendable: a lone surrogate from the client's text cannot be encoded as UTF-8.
        line = " ".join(message.split("\n")).encode("utf-8", "backslashreplace").decode("utf-8")
        self.window_log_message(types.LogMessageParams(type=kind, message=f"autofix: {line}"))

    def trace(self, message: str) -> None:
        """A `$/logTrace` line, for a client that asked for traces (`trace` in initialize, or `$/setTrace`)."""
        if self.protocol.trace in (types.TraceValue.Messages, types.TraceValue.Verbose):
            self.log_trace(types.LogTraceParams(message=f"autofix: {message}"))

    def report_server_error(self, error: Exception, source) -> None:
        """pygls's report of an error outside a request (a message it could not decode, a notification handler
        that raised, a message it could not send): a log line, never an error pop-up about a document."""
        if self._reporting:
            return  # the log line itself could not be sent: nothing more to say
        self._reporting = True
        try:
            self.log(f"internal error: {error.__class__.__name__}: {error}", types.MessageType.Error)
        finally:
            self._reporting = False

    def undecodable_message(self, uris: list[str], reason: str) -> None:
        """Called by the stdin reader (on its thread) for a message that was not UTF-8, with what it names."""
        if not uris:
            self.log(f"a message from the editor was not UTF-8 ({reason}); read with U+FFFD in its place")
        for uri in uris:
            self.undecodable[uri] = reason

    # --- configuration ------------------------------------------------------------------------------------------
    def root_of(self, path: str) -> Path:
        """The workspace folder that holds `path` (the innermost), or its own directory outside every folder."""
        folders = [to_fs_path(uri) for uri in self.workspace.folders]
        if self.workspace.root_path:
            folders.append(self.workspace.root_path)
        absolute = os.path.abspath(path)
        holding = [Path(f).resolve() for f in folders if f and (absolute + os.sep).startswith(os.path.abspath(f) + os.sep)]
        return max(holding, key=lambda p: len(p.parts)) if holding else Path(absolute).parent.resolve()

    def settings_for(self, path: str, tracked: Tracked) -> Settings:
        """`[tool.autofix]` of the document's project: the nearest pyproject.toml with that table, looked for from
        the document's folder up to its workspace folder and never above it."""
        root = self.root_of(path)
        folder = Path(os.path.abspath(path)).parent.resolve()
        key = (str(folder), str(root))
        try:
            if key not in self.config_of:
                self.config_of[key] = find_config(folder, stop=root)
            config = self.config_of[key]
            if (config, root) not in self.settings_cache:
                settings = load(config)
                if config is None:
                    settings.root = root  # the defaults' globs are relative to the workspace folder
                self.settings_cache[(config, root)] = settings
            return self.settings_cache[(config, root)]
        except ConfigError as error:
            self._log_once(tracked, f"{error}; using the default settings until it is fixed")
            return Settings(root=root)

    def configuration_changed(self) -> None:
        self.settings_cache.clear()
        self.config_of.clear()
        for tracked in list(self.tracked.values()):
            self.changed(tracked)

    # --- documents ----------------------------------------------------------------------------------------------
    def open(self, uri: str, notebook: bool) -> None:
        tracked = self.tracked.setdefault(uri, Tracked(uri, notebook))
        self.changed(tracked)

    def close(self, uri: str) -> None:
        tracked = self.tracked.pop(uri, None)
        if tracked is None:
            return
        if tracked.task is not None:
            tracked.task.cancel()
        if not self.pulls:
            for part_uri in tracked.published:
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=part_uri, diagnostics=[]))

    def changed(self, tracked: Tracked) -> None:
        tracked.generation += 1
        tracked.previous_change_at, tracked.changed_at = tracked.changed_at, time.monotonic()
        if tracked.task is not None:
            tracked.task.cancel()
        tracked.task = asyncio.ensure_future(self._refresh(tracked, tracked.generation))

    def find(self, uri: str) -> Tracked | None:
        """The tracked document a file or cell URI belongs to."""
        if uri in self.tracked:
            return self.tracked[uri]
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        return self.tracked.get(notebook.uri) if notebook is not None else None

    def parts(self, tracked: Tracked) -> tuple[list[str | None], list[tuple[str, int | None]]] | None:
        """The texts the engine checks (the file, or each cell: None where not Python code), and each part's URI
        and version; None when the client has closed it."""
        if not tracked.notebook:
            document = self.workspace.text_documents.get(tracked.uri)
            if document is None:
                return None
            return [document.source], [(tracked.uri, document.version)]
        notebook = self.workspace.get_notebook_document(notebook_uri=tracked.uri)
        if notebook is None:
            return None
        texts, uris = [], []
        for cell in notebook.cells:
            document = self.workspace.text_documents.get(cell.document)
            code = (cell.kind == types.NotebookCellKind.Code and document is not None
                    and (document.language_id or "python") == "python")
            texts.append(document.source if code else None)
            uris.append((cell.document, document.version if document is not None else None))
        return texts, uris

    def path_of(self, tracked: Tracked) -> str:
        path = to_fs_path(tracked.uri)
        return path if path else tracked.uri

    # --- checking -----------------------------------------------------------------------------------------------
    def check(self, tracked: Tracked, full: bool = False) -> bool:
        """Check the document's current text, unless already done; True when a new analysis replaced the old.

        Only the chunks the edit since the last analysis can change are checked (a partial analysis), unless
        `full`: code actions, which need every finding's own fix, and what follows a pause of typing."""
        current = tracked.analysis
        partial_now = current is not None and current.partial and current.generation == tracked.generation
        if tracked.checked == tracked.generation and not (full and partial_now):
            return False
        generation = tracked.generation
        tracked.checked = generation
        found = self.parts(tracked)
        if found is None:
            return False
        texts, part_uris = found
        path = self.path_of(tracked)
        reasons = [self.undecodable.pop(uri, None) for uri in {tracked.uri, *(uri for uri, _ in part_uris)}]
        reason = next((r for r in reasons if r is not None), None)
        if reason is not None:
            tracked.undecodable = True
            self._log_once(tracked, f"{path}: the editor sent text that is not UTF-8 ({reason}); it is read with U+FFFD "
                                    "in its place and not checked until it is valid again: the last diagnostics stay")
        if tracked.undecodable:
            if any(text is not None and "\ufffd" in text for text in texts):
                return False
            tracked.undecodable = False  # the bad bytes were replaced or deleted
        # A document that is no file (an unsaved buffer) belongs to no project: the defaults, and no file read.
        settings = self.settings_for(path, tracked) if to_fs_path(tracked.uri) else Settings()
        started = time.perf_counter()
        if settings.is_excluded(path):
            analysis = Analysis(texts, path, settings)  # excluded: nothing to report, as on the command line
        else:
            try:
                analysis = None
                if not full and current is not None and current.chunks is not None and not tracked.notebook:
                    analysis = analyse_edit(current.chunks, texts[0], path, settings, tracked.summaries)
                if analysis is None:
                    analysis = analyse(texts, path, settings, notebook_document=tracked.notebook)
                    if analysis.error is None and not tracked.notebook:
                        analysis.chunks = chunked(analysis, tracked.summaries)
            except Exception as error:  # noqa: BLE001 - a bug of ours must cost this check, not the server
                self._log_once(tracked, f"{path}: internal error: {error.__class__.__name__}: {error}; "
                                        "please report this autofix bug with the file", types.MessageType.Error)
                return False
        seconds = time.perf_counter() - started
        if not full:
            tracked.check_seconds = seconds  # what a check while typing costs: the debounce waits that long
        return self._install(tracked, analysis, generation, seconds, found)

    def _install(self, tracked: Tracked, analysis: Analysis, generation: int, seconds: float, found,
                 how: str = "") -> bool:
        """Make `analysis` of the text of `generation` the document's, unless its text could not be checked."""
        path = analysis.path
        for message in analysis.internal_errors:
            self._log_once(tracked, f"{path}: internal error: {message}; please report this autofix bug with the file",
                           types.MessageType.Error)
        if analysis.error is not None:
            # Keep the last good diagnostics: a file that does not parse mid-edit has not lost its bugs.
            self._log_once(tracked, f"{path}: {analysis.error}")
            return False
        version = found[1][0][1] if not tracked.notebook else None
        if analysis.partial and analysis.chunks is not None:
            chunks = analysis.chunks.chunks
            how = f"{len(analysis.chunks.checked)} of {len(chunks)} chunks"
        self.trace(f"{path} (version {version}): checked {how or 'the whole text'} in {seconds * 1000:.0f} ms")
        current = tracked.analysis
        partial_now = current is not None and current.partial and current.generation == generation
        analysis.generation = generation
        analysis.serial = next(_serials)
        if partial_now and self._keys(analysis) == self._keys(current):
            analysis.serial = current.serial  # the same results in the same order: the published `data` holds
        tracked.analysis = analysis
        return True

    def _log_once(self, tracked: Tracked, message: str, kind=types.MessageType.Warning) -> None:
        if message not in tracked.logged:
            tracked.logged.add(message)
            self.log(message, kind)

    async def _check_in_pieces(self, tracked: Tracked, generation: int) -> bool | None:
        """The whole check after a pause, of a text checked in part: one group of linked chunks at a time, giving
        way to the event loop between two, so that a change (a keystroke) waits for one group at most. None when
        the text changed meanwhile (the rest is not checked); otherwise whether the analysis was replaced."""
        current, found = tracked.analysis, self.parts(tracked)
        if (found is None or tracked.notebook or current is None or not current.partial
                or current.generation != generation):
            return self.check(tracked, full=True)
        try:
            whole = Pieces(found[0][0], current.path, current.settings, tracked.summaries)
            spent = 0.0
            steps = whole.steps()
            while True:
                started = time.perf_counter()
                more = next(steps, False)
                spent += time.perf_counter() - started
                if not more:
                    break
                # Long enough for the reader thread to bring in a message waiting on stdin (three hops through the
                # loop: its header, the blank line, its body), which cancels this task if it is a change.
                await asyncio.sleep(PIECE_PAUSE_SECONDS)
                if generation != tracked.generation:
                    return None
            analysis = whole.result()
        except Exception as error:  # noqa: BLE001 - a bug of ours must cost this check, not the server
            self._log_once(tracked, f"{current.path}: internal error: {error.__class__.__name__}: {error}; "
                                    "please report this autofix bug with the file", types.MessageType.Error)
            return False
        if analysis is None:
            return self.check(tracked, full=True)  # a piece could not be checked alone: the whole text says why
        tracked.checked = generation
        return self._install(tracked, analysis, generation, spent, found,
                             f"the whole text, in {len(whole.groups or [()])} pieces,")

    async def _refresh(self, tracked: Tracked, generation: int) -> None:
        # Cancelled by the next change (`changed`); each step also gives up once the text has changed since.
        try:
            await asyncio.sleep(0)  # let changes already queued land first: only the newest text is checked
            if generation != tracked.generation:
                return
            # Debounce: in a burst of changes closer together than a check takes, wait for a quiet moment.
            quiet = min(MAX_DEBOUNCE_SECONDS, tracked.check_seconds)
            if tracked.changed_at - tracked.previous_change_at < quiet:
                await asyncio.sleep(max(0.0, tracked.changed_at + quiet - time.monotonic()))
                if generation != tracked.generation:
                    return
            if not self.pulls and self.check(tracked):
                self.publish(tracked)  # (a text that does not parse publishes nothing: the last good ones stay)
            await asyncio.sleep(IDLE_SECONDS)
            if generation != tracked.generation:
                return
            # Typing has paused: check the whole text, which fixes are built from (and which corrects a partial
            # check, should one have missed a link between chunks).
            before = tracked.analysis
            replaced = await self._check_in_pieces(tracked, generation)
            if replaced is None:
                return  # changed meanwhile
            if replaced and self._keys(tracked.analysis) != self._keys(before):
                if not self.pulls:
                    self.publish(tracked)
                elif before is not None and before.partial and before.generation == generation:
                    self._ask_to_pull_again()  # what the client pulled was the partial check's
            analysis = tracked.analysis
            if analysis is not None and analysis.generation == generation:
                errors = await self.fixes.run(self._quick_fixes_while_current, tracked, generation)
                if generation != tracked.generation:
                    return
                for message in errors:
                    self._log_once(tracked, f"{analysis.path}: internal error: {message}", types.MessageType.Error)
                if any(result.fix is not None for result in analysis.results):
                    self.publish(tracked)  # the same findings, now with their fixes in `data`
                    self._ask_to_pull_again()
            await self._check_workspace_of(tracked, generation)
            if generation == tracked.generation:
                # Typing has paused: free the analyses it left behind now (the collector is tuned to run rarely,
                # and each check leaves its model and rules in reference cycles).
                gc.collect()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the server outlives any one document
            self.log(f"{tracked.uri}: internal error: {error.__class__.__name__}: {error}", types.MessageType.Error)

    def _quick_fixes_while_current(self, tracked: Tracked, generation: int) -> list[str]:
        # Runs on the fix thread: a job queued behind a newer change is skipped, not computed for nothing.
        if generation != tracked.generation or tracked.analysis is None:
            return []
        return tracked.analysis.quick_fixes(self.client_unsafe)

    async def _check_workspace_of(self, changed: Tracked, generation: int) -> None:
        """Check the other open documents of the changed one's workspace again: what one file defines decides
        findings in another (a class defined in model.py and used in train.py)."""
        root = self.root_of(self.path_of(changed))
        for other in list(self.tracked.values()):
            if other is changed or self.root_of(self.path_of(other)) != root:
                continue
            await asyncio.sleep(0)
            if generation != changed.generation:
                return
            previous = other.analysis
            # Its text is the same, but what it depends on may not be: check it again without a new generation,
            # which would cancel a refresh of its own still pending (an edit of it made a moment ago).
            other.checked = -1
            if not self.check(other, full=True):
                continue
            if previous is not None and self._keys(other.analysis) == self._keys(previous):
                if not previous.partial:
                    previous.generation = other.generation  # nothing changed: keep the fixes already built
                    other.analysis = previous
                continue
            self.publish(other)
            self._ask_to_pull_again()

    def _ask_to_pull_again(self) -> None:
        if self.pulls and self._supports("workspace", "diagnostics", "refresh_support"):
            self.workspace_diagnostic_refresh(None)

    @staticmethod
    def _keys(analysis: Analysis | None):
        return None if analysis is None else [(r.finding.code, r.finding.message, r.place) for r in analysis.results]

    # --- diagnostics --------------------------------------------------------------------------------------------
    def diagnostics(self, tracked: Tracked) -> dict[str, list[types.Diagnostic]]:
        """The diagnostics of each part (file or cell URI) of the document, from its last good analysis."""
        found = self.parts(tracked)
        if found is None:
            return {}
        texts, uris = found
        out: dict[str, list[types.Diagnostic]] = {
            uri: [] for (uri, _), text in zip(uris, texts) if text is not None or not tracked.notebook}
        analysis = tracked.analysis
        if analysis is None or len(analysis.parts) != len(uris):
            return out
        for index, result in enumerate(analysis.results):
            uri = uris[result.place.part][0]
            out.setdefault(uri, []).append(self._diagnostic(tracked, analysis, index, result, uris))
        return out

    def _diagnostic(self, tracked, analysis: Analysis, index: int, result: Result, uris) -> types.Diagnostic:
        finding = result.finding
        data = {"uri": tracked.uri, "analysis": analysis.serial, "index": index, "rule": finding.name}
        if result.fix is not None:
            data["fix"] = {
                "title": _fix_title(result),
                "edits": _edits_as_data(self._text_edits(analysis, result.fix, uris)),
            }
        return types.Diagnostic(
            range=self._range(analysis, result.place),
            message=finding.message,
            severity=types.DiagnosticSeverity.Warning,
            code=finding.code,
            source=SOURCE,
            data=data,
        )

    def publish(self, tracked: Tracked) -> None:
        if self.pulls:
            return
        current = self.diagnostics(tracked)
        found = self.parts(tracked)
        versions = dict(found[1]) if found else {}
        for uri in set(tracked.published) - set(current):  # cells that left the notebook, or stopped being code
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        for uri, diagnostics in current.items():
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=versions.get(uri)))
        tracked.published = current

    # --- positions: the engine counts code points, the client its own units (UTF-16 unless agreed otherwise) -----
    def _range(self, analysis: Analysis, place: Place) -> types.Range:
        lines = analysis.lines(place.part)
        return types.Range(self._position(lines, place.line, place.column),
                           self._position(lines, place.end_line, place.end_column))

    def _position(self, lines: list[str], line: int, column: int) -> types.Position:
        if line >= len(lines):
            return types.Position(len(lines), 0)
        return types.Position(line, self.workspace.position_codec.client_num_units(lines[line][:column]))

    def code_point_column(self, text: str, position: types.Position) -> tuple[int, int]:
        lines = text.split("\n")
        if position.line >= len(lines):
            return position.line, 0
        line, units, column = lines[position.line], 0, 0
        codec = self.workspace.position_codec
        while column < len(line) and units < position.character:
            units += codec.client_num_units(line[column])
            column += 1
        return position.line, column

    def _text_edits(self, analysis: Analysis, replacements: list[Replacement], uris) -> dict[str, list[types.TextEdit]]:
        edits: dict[str, list[types.TextEdit]] = {}
        for r in replacements:
            lines = analysis.lines(r.part)
            span = types.Range(self._position(lines, r.line, r.column), self._position(lines, r.end_line, r.end_column))
            edits.setdefault(uris[r.part][0], []).append(types.TextEdit(range=span, new_text=r.text))
        return edits

    def workspace_edit(self, edits: dict[str, list[types.TextEdit]], versions: dict[str, int | None]) -> types.WorkspaceEdit:
        if self._supports("workspace", "workspace_edit", "document_changes"):
            return types.WorkspaceEdit(document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=versions.get(uri)),
                    edits=list(items))
                for uri, items in edits.items()])
        return types.WorkspaceEdit(changes=edits)

    # --- code actions -------------------------------------------------------------------------------------------
    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        tracked = self.find(params.text_document.uri)
        if tracked is None:
            return []
        self.check(tracked, full=True)  # a client that asks right after a change gets actions for the text it has
        analysis = tracked.analysis
        found = self.parts(tracked)
        if analysis is None or found is None or analysis.generation != tracked.generation:
            return []  # the text does not parse, so the last good findings' positions mean nothing for it
        _, uris = found
        versions = dict(uris)
        only = params.context.only
        actions: list[types.CodeAction] = []
        if _wanted(only, types.CodeActionKind.QuickFix.value):
            for diagnostic in params.context.diagnostics:
                index = self._result_index(analysis, params.text_document.uri, diagnostic, uris)
                if index is None:
                    continue
                result = analysis.results[index]
                actions += self._quick_fix(tracked, analysis, result, diagnostic, uris, versions)
                ignore = self._ignore(analysis, result, diagnostic, uris, versions)
                if ignore is not None:
                    actions.append(ignore)
        if _wanted(only, FIX_ALL) and any(r.finding.fix for r in analysis.results):
            action = types.CodeAction(title="autofix: fix all auto-fixable problems", kind=FIX_ALL,
                                      data={"uri": tracked.uri, "analysis": analysis.serial})
            if not self._supports("text_document", "code_action", "resolve_support"):
                action = self.resolve(action)  # a client that cannot resolve gets the edit at once
                if action.edit is None:
                    action = None
            if action is not None:
                actions.append(action)
        return actions

    def _result_index(self, analysis: Analysis, uri: str, diagnostic: types.Diagnostic, uris) -> int | None:
        if diagnostic.source != SOURCE:
            return None
        data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
        index = data.get("index")
        if data.get("analysis") == analysis.serial and isinstance(index, int) and 0 <= index < len(analysis.results):
            return index
        # A client that drops `data`: match code and range instead.
        for index, result in enumerate(analysis.results):
            if (result.finding.code == diagnostic.code and uris[result.place.part][0] == uri
                    and self._range(analysis, result.place) == diagnostic.range):
                return index
        return None

    def _quick_fix(self, tracked, analysis: Analysis, result: Result, diagnostic, uris, versions) -> list[types.CodeAction]:
        info = result.finding.fix
        if info is None or (info.applicability is Applicability.UNSAFE
                            and not (self.client_unsafe or analysis.settings.unsafe_fixes)):
            return []
        data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
        fix = data.get("fix") if data.get("analysis") == analysis.serial else None
        if fix is not None:
            edits = _edits_from_data(fix["edits"])
        else:  # asked before the fixes were built: build this one now
            replacements, errors = analysis.quick_fix(result, self.client_unsafe)
            for message in errors:
                self._log_once(tracked, f"{analysis.path}: internal error: {message}", types.MessageType.Error)
            if replacements is None:
                return []
            edits = self._text_edits(analysis, replacements, uris)
        return [types.CodeAction(title=_fix_title(result), kind=types.CodeActionKind.QuickFix, diagnostics=[diagnostic],
                                 is_preferred=info.applicability is Applicability.SAFE,
                                 edit=self.workspace_edit(edits, versions))]

    def _ignore(self, analysis: Analysis, result: Result, diagnostic, uris, versions) -> types.CodeAction | None:
        code = result.finding.code
        # The engine's text: in a notebook its masked module, whose lines are the cells' lines.
        where = noqa.suppression(analysis.module_text, result.finding.line, code)
        if where is None:
            return None
        start, end, text = where
        line = result.place.line
        replacement = Replacement(result.place.part, line, start, line, end, text)
        edit = self.workspace_edit(self._text_edits(analysis, [replacement], uris), versions)
        return types.CodeAction(title=f"Ignore {code} on this line", kind=types.CodeActionKind.QuickFix,
                                diagnostics=[diagnostic], edit=edit)

    def resolve(self, action: types.CodeAction) -> types.CodeAction:
        """Fill in the fix-all edit: `autofix --fix` of the document as it is now."""
        data = action.data if isinstance(action.data, dict) else {}
        tracked = self.tracked.get(data.get("uri"))
        if tracked is None or action.kind != FIX_ALL:
            return action
        self.check(tracked, full=True)
        analysis, found = tracked.analysis, self.parts(tracked)
        if analysis is None or found is None or analysis.generation != tracked.generation:
            return action
        replacements, errors = analysis.fix_all(self.client_unsafe)
        for message in errors:
            self._log_once(tracked, f"{analysis.path}: {message}", types.MessageType.Error)
        if replacements:
            _, uris = found
            action.edit = self.workspace_edit(self._text_edits(analysis, replacements, uris), dict(uris))
        return action

    # --- hover --------------------------------------------------------------------------------------------------
    def hover(self, params: types.HoverParams) -> types.Hover | None:
        tracked = self.find(params.text_document.uri)
        if tracked is None or tracked.analysis is None:
            return None
        found = self.parts(tracked)
        if found is None:
            return None
        analysis = tracked.analysis
        uris = [uri for uri, _ in found[1]]
        if params.text_document.uri not in uris or len(uris) != len(analysis.parts):
            return None
        part = uris.index(params.text_document.uri)
        line, column = self.code_point_column(analysis.parts[part] or "", params.position)
        codes = []
        for result in analysis.results:
            p = result.place
            inside = p.part == part and (p.line, p.column) <= (line, column) <= (p.end_line, p.end_column)
            if inside and result.finding.code not in codes:
                codes.append(result.finding.code)
        if not codes:
            return None
        rules = {rule.code: rule for rule in all_rules()}
        texts = []
        for code in codes:
            stream = io.StringIO()
            render.explain(rules[code], stream)
            texts.append(stream.getvalue())
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n---\n".join(texts)))


def _fix_title(result: Result) -> str:
    finding = result.finding
    title = f"autofix: fix {finding.code} ({finding.name})"
    if finding.fix is not None and finding.fix.applicability is Applicability.UNSAFE:
        title += " [unsafe: may change behaviour]"
    return title


def _wanted(only, kind: str) -> bool:
    return only is None or any(kind == k or kind.startswith(f"{k}.") for k in only)


def _edits_as_data(edits: dict[str, list[types.TextEdit]]) -> dict:
    return {uri: [{"range": {"start": {"line": e.range.start.line, "character": e.range.start.character},
                             "end": {"line": e.range.end.line, "character": e.range.end.character}},
                   "newText": e.new_text} for e in items]
            for uri, items in edits.items()}


def _edits_from_data(data: dict) -> dict[str, list[types.TextEdit]]:
    def position(p):
        return types.Position(line=p["line"], character=p["character"])

    return {uri: [types.TextEdit(range=types.Range(position(e["range"]["start"]), position(e["range"]["end"])),
                                 new_text=e["newText"]) for e in items]
            for uri, items in data.items()}
