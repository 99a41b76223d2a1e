"""`autofix server`: a language server over stdio (see `autofix/server/server.py`).

This module wires the protocol's messages to the server's methods; `analysis.py` is the only part that talks to
the engine, `noqa.py` places suppression comments, and `wire.py` reads what the client sends.
"""
from __future__ import annotations

import argparse
import os
import sys

from lsprotocol import types

from autofix.runner import tune_gc
from autofix.server import wire
from autofix.server.server import FIX_ALL, AutofixServer


def create() -> AutofixServer:
    server = AutofixServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: AutofixServer, params: types.InitializeParams):
        ls.client_unsafe = _unsafe_setting(params.initialization_options)
        if params.trace is not None:
            ls.protocol.trace = params.trace  # pygls follows `$/setTrace` only

    @server.feature(types.INITIALIZED)
    def initialized(ls: AutofixServer, params: types.InitializedParams):
        # `[tool.autofix]` lives in pyproject.toml: ask the client to say when one changes (VS Code needs asking).
        if ls._supports("workspace", "did_change_watched_files", "dynamic_registration"):
            ls.client_register_capability(types.RegistrationParams(registrations=[types.Registration(
                id="autofix-pyproject", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(
                    watchers=[types.FileSystemWatcher(glob_pattern="**/pyproject.toml")]))]))

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: AutofixServer, params):
        ls.shut_down = True

    @server.feature(types.EXIT)
    def exit_(ls: AutofixServer, params):
        # End now, with the protocol's exit code: everything owed to the client has been written, and pygls's own
        # shutdown would wait for its stdin reader thread, which is blocked until the client closes the pipe.
        sys.stdout.flush()
        os._exit(0 if ls.shut_down else 1)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: AutofixServer, params: types.DidOpenTextDocumentParams):
        if params.text_document.language_id in ("python", ""):  # a client may send every file it opens
            ls.open(params.text_document.uri, notebook=False)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: AutofixServer, params: types.DidChangeTextDocumentParams):
        tracked = ls.tracked.get(params.text_document.uri)
        if tracked is not None:
            ls.changed(tracked)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: AutofixServer, params: types.DidSaveTextDocumentParams):
        tracked = ls.find(params.text_document.uri)
        if tracked is not None:
            ls.changed(tracked)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: AutofixServer, params: types.DidCloseTextDocumentParams):
        ls.close(params.text_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_open(ls: AutofixServer, params: types.DidOpenNotebookDocumentParams):
        ls.open(params.notebook_document.uri, notebook=True)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_change(ls: AutofixServer, params: types.DidChangeNotebookDocumentParams):
        tracked = ls.tracked.get(params.notebook_document.uri)
        if tracked is not None:
            ls.changed(tracked)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_save(ls: AutofixServer, params: types.DidSaveNotebookDocumentParams):
        tracked = ls.tracked.get(params.notebook_document.uri)
        if tracked is not None:
            ls.changed(tracked)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_close(ls: AutofixServer, params: types.DidCloseNotebookDocumentParams):
        ls.close(params.notebook_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_files(ls: AutofixServer, params: types.DidChangeWatchedFilesParams):
        if any(change.uri.endswith("pyproject.toml") for change in params.changes):
            ls.configuration_changed()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def configuration(ls: AutofixServer, params: types.DidChangeConfigurationParams):
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get("autofix"), dict):
            settings = settings["autofix"]
        unsafe = _unsafe_setting(settings)
        if unsafe != ls.client_unsafe:
            ls.client_unsafe = unsafe
            ls.configuration_changed()

    @server.feature(types.TEXT_DOCUMENT_DIAGNOSTIC,
                    types.DiagnosticOptions(identifier="autofix", inter_file_dependencies=True, workspace_diagnostics=False))
    def pull(ls: AutofixServer, params: types.DocumentDiagnosticParams):
        tracked = ls.find(params.text_document.uri)
        if tracked is None:
            return types.RelatedFullDocumentDiagnosticReport(items=[])
        ls.check(tracked)
        items = ls.diagnostics(tracked).get(params.text_document.uri, [])
        return types.RelatedFullDocumentDiagnosticReport(items=items)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=True))
    def code_action(ls: AutofixServer, params: types.CodeActionParams):
        return ls.code_actions(params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    def code_action_resolve(ls: AutofixServer, action: types.CodeAction):
        return ls.resolve(action)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: AutofixServer, params: types.HoverParams):
        return ls.hover(params)

    return server


def _unsafe_setting(options) -> bool:
    """The client's `unsafeFixes` (or `unsafe-fixes`) setting: initializationOptions or a configuration change."""
    if not isinstance(options, dict):
        return False
    value = options.get("unsafeFixes", options.get("unsafe-fixes", False))
    return value is True


def main(argv: list[str]) -> int:
    argparse.ArgumentParser(
        prog="autofix server",
        description="Run the autofix language server over stdio (for editors: see the README's Editors section).",
    ).parse_args(argv)
    # Checking allocates many acyclic syntax-tree objects: let the cyclic collector run rarely, as workers do.
    tune_gc()
    server = create()
    server.start_io(stdin=wire.RepairingReader(sys.stdin.buffer, server.undecodable_message))
    return 0 if server.shut_down else 1
