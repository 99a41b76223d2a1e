"""`autofix server` driven as an editor drives it: the installed command as a subprocess, spoken to over stdio.

Every fix the server offers is applied here the way a client applies a WorkspaceEdit and compared with what
`autofix --fix` writes for the same file: the editor and the command line must never disagree.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import run
from lsp_client import Client, apply_edits, edits_of, uri

GF101_DETACH = "In-place write through `.detach()`: write to the tensor under `torch.no_grad()` instead"

MODEL = textwrap.dedent("""\
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 2)
            self.linear.weight.detach().zero_()

        def forward(self, x):
            return self.linear(x)
""")
# Where GF101 is in MODEL: line 8 (0-based 7), `self.linear.weight.detach().zero_()` from column 8 to 43.
MODEL_RANGE = {"start": {"line": 7, "character": 8}, "end": {"line": 7, "character": 43}}

SEVERAL = textwrap.dedent("""\
    import torch
    import torch.nn as nn


    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(16, 32)
            self.head = nn.Linear(32, 4)
            nn.init.kaiming_uniform_(self.hidden.weight.data, nonlinearity="relu")
            self.head.weight.detach().zero_()
            self.head.bias.detach().zero_()


    def sgd_step(model, lr):
        for p in model.parameters():
            p.data.add_(-lr, p.grad.data)
            p.grad.data.zero_()
""")

UNSAFE_ONLY = "import torch\n\nW = torch.randn(784, 10, requires_grad=True)\nW *= 0.01\n"  # GF302: unsafe fix only


def cli_fix(tmp_path: Path, name: str, text: str, *flags: str) -> str:
    """What `autofix --fix` writes for `text` saved as `name` in a fresh copy of the project."""
    folder = tmp_path / f"cli-{len(list(tmp_path.glob('cli-*')))}"
    folder.mkdir()
    for config in tmp_path.glob("pyproject.toml"):
        shutil.copy(config, folder / config.name)
    (folder / name).write_text(text)
    done = run(["--fix", "--no-cache", *flags, name], cwd=folder)
    assert done.returncode in (0, 1), done.stderr
    return (folder / name).read_text()


def with_fixes(diagnostics: list[dict]) -> bool:
    return bool(diagnostics) and all("fix" in d["data"] for d in diagnostics if d["code"] != "GF302")


def code_actions(client: Client, document: str, diagnostics: list[dict], only: list[str] | None = None) -> list[dict]:
    context = {"diagnostics": diagnostics, **({"only": only} if only else {})}
    span = diagnostics[0]["range"] if diagnostics else {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}
    return client.request("textDocument/codeAction", {"textDocument": {"uri": document}, "range": span, "context": context})


@pytest.fixture
def server(tmp_path):
    clients = []

    def start(capabilities=None, options=None, command=None) -> Client:
        client = Client(tmp_path, command=command)
        clients.append(client)
        client.initialize(tmp_path, capabilities, options)
        return client

    yield start
    for client in clients:
        client.close()


def test_a_finding_is_published_at_its_range_and_its_quick_fix_equals_autofix_fix(tmp_path, server):
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    client = server()
    document = client.open(path)

    first = client.diagnostics(document, version=1)
    assert [(d["code"], d["range"], d["source"], d["severity"], d["message"]) for d in first] == [
        ("GF101", MODEL_RANGE, "autofix", 2, GF101_DETACH)]
    assert first[0]["data"]["rule"] == "detached-inplace-write"

    # A client that asks before the fixes reach it still gets the fix (built then, from the same analysis).
    early = [a for a in code_actions(client, document, first) if a["title"].startswith("autofix: fix GF101")]
    assert len(early) == 1 and early[0]["kind"] == "quickfix" and early[0]["isPreferred"] is True

    # Once typing pauses, the fix travels in the diagnostic's data, so a code action needs no second analysis.
    published = client.diagnostics(document, version=1, predicate=with_fixes)
    action = next(a for a in code_actions(client, document, published) if a["title"].startswith("autofix: fix GF101"))
    assert edits_of(action) == edits_of(early[0])
    assert "title" in published[0]["data"]["fix"]
    assert apply_edits(MODEL, edits_of(action)[document]) == cli_fix(tmp_path, "model.py", MODEL)
    assert path.read_text() == MODEL  # the server never writes a file
    assert client.shutdown() == 0


def test_fix_all_equals_autofix_fix_and_is_resolved_lazily(tmp_path, server):
    path = tmp_path / "train.py"
    path.write_text(SEVERAL)
    expected = cli_fix(tmp_path, "train.py", SEVERAL)
    assert expected != SEVERAL

    eager = server()
    document = eager.open(path)
    eager.diagnostics(document)
    [action] = code_actions(eager, document, [], only=["source.fixAll"])
    assert action["kind"] == "source.fixAll.autofix"
    assert apply_edits(SEVERAL, edits_of(action)[document]) == expected

    # A client that can resolve code actions gets the edit only when it picks the action.
    lazy = server(capabilities={"textDocument": {"codeAction": {"resolveSupport": {"properties": ["edit"]}}}})
    document = lazy.open(path)
    lazy.diagnostics(document)
    [action] = code_actions(lazy, document, [], only=["source"])
    assert "edit" not in action or action["edit"] is None
    resolved = lazy.request("codeAction/resolve", action)
    assert apply_edits(SEVERAL, edits_of(resolved)[document]) == expected


def test_ignore_on_this_line_adds_noqa_and_extends_an_existing_one(tmp_path, server):
    text = MODEL.replace("self.linear.weight.detach().zero_()", "self.linear.weight.detach().zero_()  # noqa: E501")
    path = tmp_path / "model.py"
    client = server()
    for source, expected_line in (
        (MODEL, "        self.linear.weight.detach().zero_()  # noqa: GF101"),
        (text, "        self.linear.weight.detach().zero_()  # noqa: E501, GF101"),
    ):
        path.write_text(source)
        document = client.open(path, source)
        diagnostics = client.diagnostics(document, predicate=bool)
        [ignore] = [a for a in code_actions(client, document, diagnostics) if a["title"] == "Ignore GF101 on this line"]
        fixed = apply_edits(source, edits_of(ignore)[document])
        assert fixed.split("\n")[7] == expected_line
        path.write_text(fixed)
        done = run(["--no-cache", "model.py"], cwd=tmp_path)
        assert done.returncode == 0, done.stdout  # the command line reads the comment as the suppression
        client.notify("textDocument/didClose", {"textDocument": {"uri": document}})


def test_unsafe_fixes_are_offered_only_when_allowed_and_say_so(tmp_path, server):
    path = tmp_path / "leaf.py"
    path.write_text(UNSAFE_ONLY)

    plain = server()
    document = plain.open(path)
    diagnostics = plain.diagnostics(document, predicate=bool)
    assert [d["code"] for d in diagnostics] == ["GF302"]
    titles = [a["title"] for a in code_actions(plain, document, diagnostics)]
    assert titles == ["Ignore GF302 on this line"]

    allowed = server(options={"unsafeFixes": True})
    document = allowed.open(path)
    diagnostics = allowed.diagnostics(document, predicate=bool)
    [action] = [a for a in code_actions(allowed, document, diagnostics) if a["title"].startswith("autofix: fix GF")]
    assert "unsafe" in action["title"] and action["isPreferred"] is False
    assert apply_edits(UNSAFE_ONLY, edits_of(action)[document]) == cli_fix(tmp_path, "leaf.py", UNSAFE_ONLY, "--unsafe-fixes")

    # `unsafe-fixes = true` in the project's configuration allows them too, as it does for `autofix --fix`.
    (tmp_path / "pyproject.toml").write_text("[tool.autofix]\nunsafe-fixes = true\n")
    configured = server()
    document = configured.open(path)
    diagnostics = configured.diagnostics(document, predicate=bool)
    [action] = [a for a in code_actions(configured, document, diagnostics) if a["title"].startswith("autofix: fix GF")]
    assert apply_edits(UNSAFE_ONLY, edits_of(action)[document]) == cli_fix(tmp_path, "leaf.py", UNSAFE_ONLY)


def test_configuration_is_the_projects_and_is_read_again_when_it_changes(tmp_path, server):
    (tmp_path / "pyproject.toml").write_text('[tool.autofix]\nignore = ["GF101"]\n')
    (tmp_path / "tests").mkdir()
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    client = server(capabilities={"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}}})
    document = client.open(path)
    assert client.diagnostics(document) == []
    if not client.server_requests:
        client.wait(lambda m: m.get("method") == "client/registerCapability", what="a watcher registration")
    [registered] = [m for m in client.server_requests if m["method"] == "client/registerCapability"]
    watchers = registered["params"]["registrations"][0]["registerOptions"]["watchers"]
    assert watchers == [{"globPattern": "**/pyproject.toml"}]

    (tmp_path / "pyproject.toml").write_text(
        '[tool.autofix]\nexclude = ["legacy/*"]\nper-file-ignores = { "tests/*.py" = ["GF101"] }\n')
    client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": uri(tmp_path / "pyproject.toml"), "type": 2}]})
    assert [d["code"] for d in client.diagnostics(document, predicate=bool)] == ["GF101"]

    ignored = tmp_path / "tests" / "test_model.py"
    ignored.write_text(MODEL)
    assert client.diagnostics(client.open(ignored)) == []
    (tmp_path / "legacy").mkdir()
    excluded = tmp_path / "legacy" / "model.py"
    excluded.write_text(MODEL)
    assert client.diagnostics(client.open(excluded)) == []


def test_a_bad_configuration_is_one_log_line_and_the_defaults_apply(tmp_path, server):
    (tmp_path / "pyproject.toml").write_text('[tool.autofix]\nselect = ["GF9999"]\n')
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    client = server()
    document = client.open(path)
    assert [d["code"] for d in client.diagnostics(document)] == ["GF101"]
    lines = [line for line in client.logs() if "GF9999" in line]
    assert len(lines) == 1 and "pyproject.toml" in lines[0] and "\n" not in lines[0]


def test_a_finding_in_one_file_that_needs_a_class_from_another(tmp_path, server):
    (tmp_path / "model.py").write_text(textwrap.dedent("""\
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)

            def forward(self, x):
                return self.fc(x)
    """))
    (tmp_path / "train.py").write_text("from model import Net\n\nnet = Net()\nnet.fc.weight.data.normal_()\n")
    client = server()
    model = client.open(tmp_path / "model.py")
    client.diagnostics(model)
    train = client.open(tmp_path / "train.py")
    # `net.fc.weight` is a parameter only because of what model.py says: GF101 needs the project index.
    diagnostics = client.diagnostics(train, predicate=bool, deadline=5)
    assert [(d["code"], d["range"]["start"]["line"]) for d in diagnostics] == [("GF101", 3)]


def test_an_unsaved_edit_of_one_file_refreshes_what_depends_on_it(tmp_path, server):
    layer = textwrap.dedent("""\
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = {}
    """)
    (tmp_path / "model.py").write_text(layer)
    (tmp_path / "train.py").write_text("from model import Net\n\nnet = Net()\nnet.fc.weight.data.normal_()\n")
    client = server()
    model = client.open(tmp_path / "model.py")
    client.diagnostics(model)
    train = client.open(tmp_path / "train.py")
    assert client.diagnostics(train) == []  # `fc` is a dict: nothing to report
    # The editor's text, not the file on disk (which still says `{}`), decides once model.py changes.
    client.change(model, 2, layer.replace("self.fc = {}", "self.fc = nn.Linear(4, 2)"))
    diagnostics = client.diagnostics(train, predicate=bool, deadline=10)
    assert [(d["code"], d["range"]["start"]["line"]) for d in diagnostics] == [("GF101", 3)]


def notebook_cells() -> list[tuple[str, str]]:
    return [
        ("code", "import torch\nmodel = torch.nn.Linear(4, 2)"),
        ("markdown", "## Training\n`p.detach().zero_()` is not code here"),
        ("code", "%matplotlib inline\nfor p in model.parameters():\n    p.detach().zero_()"),
    ]


def test_a_notebook_is_one_module_and_each_finding_lands_in_its_cell(tmp_path, server):
    cells = notebook_cells()
    notebook_uri = uri(tmp_path / "train.ipynb")
    cell_uris = [f"vscode-notebook-cell:{tmp_path / 'train.ipynb'}#cell{i}" for i in range(len(cells))]
    client = server()
    client.notify("notebookDocument/didOpen", {
        "notebookDocument": {"uri": notebook_uri, "notebookType": "jupyter-notebook", "version": 1, "cells": [
            {"kind": 2 if kind == "code" else 1, "document": cell_uri} for (kind, _), cell_uri in zip(cells, cell_uris)]},
        "cellTextDocuments": [
            {"uri": cell_uri, "languageId": "python" if kind == "code" else "markdown", "version": 1, "text": text}
            for (kind, text), cell_uri in zip(cells, cell_uris)],
    })
    assert client.diagnostics(cell_uris[0]) == []
    [finding] = client.diagnostics(cell_uris[2], predicate=bool)
    assert finding["code"] == "GF101"
    assert finding["range"] == {"start": {"line": 2, "character": 4}, "end": {"line": 2, "character": 22}}

    # The fix, applied to its cells, is what `autofix --fix` makes of the same notebook on disk.
    finding = client.diagnostics(cell_uris[2], predicate=with_fixes)[0]
    [action] = [a for a in code_actions(client, cell_uris[2], [finding]) if a["title"].startswith("autofix: fix GF")]
    edits = edits_of(action)
    fixed = [apply_edits(text, edits.get(cell_uri, [])) if kind == "code" else text
             for (kind, text), cell_uri in zip(cells, cell_uris)]
    on_disk = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"language_info": {"name": "python"}}, "cells": [
        {"cell_type": kind, "metadata": {}, "source": text, **({"outputs": [], "execution_count": None} if kind == "code" else {})}
        for kind, text in cells]}
    by_cli = json.loads(cli_fix(tmp_path, "train.ipynb", json.dumps(on_disk, indent=1)))
    assert fixed == [cell["source"] for cell in by_cli["cells"]]
    assert fixed[2] != cells[2][1]

    # An edit to one cell is checked with the others: the finding goes when the cell is repaired.
    client.notify("notebookDocument/didChange", {
        "notebookDocument": {"uri": notebook_uri, "version": 2},
        "change": {"cells": {"textContent": [{"document": {"uri": cell_uris[2], "version": 2},
                                               "changes": [{"text": fixed[2]}]}]}},
    })
    assert client.diagnostics(cell_uris[2], version=2) == []

    # A cell added below gets its own diagnostics, positioned in it.
    added = f"vscode-notebook-cell:{tmp_path / 'train.ipynb'}#cell9"
    client.notify("notebookDocument/didChange", {
        "notebookDocument": {"uri": notebook_uri, "version": 3},
        "change": {"cells": {"structure": {
            "array": {"start": 3, "deleteCount": 0, "cells": [{"kind": 2, "document": added}]},
            "didOpen": [{"uri": added, "languageId": "python", "version": 1,
                         "text": "\nwith_data = model.weight\nwith_data.data.zero_()\n"}],
        }}},
    })
    [finding] = client.diagnostics(added, predicate=bool)
    assert (finding["code"], finding["range"]["start"]) == ("GF101", {"line": 2, "character": 0})


def test_a_syntax_error_keeps_the_last_findings_and_its_repair_brings_them_back(tmp_path, server):
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    client = server()
    document = client.open(path)
    assert [d["code"] for d in client.diagnostics(document, version=1)] == ["GF101"]

    broken = MODEL.replace("def forward(self, x):", "def forward(self, x")
    client.change(document, 2, broken)
    client.change(document, 3, broken + "\n")
    repaired = MODEL.replace("return self.linear(x)", "return self.linear(x) * 2")
    client.change(document, 4, repaired)
    assert [d["code"] for d in client.diagnostics(document, version=4)] == ["GF101"]
    versions = [n["params"].get("version") for n in client.notifications
                if n["method"] == "textDocument/publishDiagnostics"]
    assert 2 not in versions and 3 not in versions  # nothing replaced the last good findings while it was broken
    logged = [line for line in client.logs() if "syntax error" in line]
    assert len(logged) == 1 and str(path) in logged[0] and "\n" not in logged[0]
    assert client.shutdown() == 0


def test_binary_huge_and_crashing_input_never_kill_the_server(tmp_path, server):
    (tmp_path / "pyproject.toml").write_text("[tool.autofix]\nmax-file-size = 100000\n")
    client = server()
    binary = client.open(tmp_path / "blob.py", "\x00\x01\x02torch\x00" * 100)
    huge = client.open(tmp_path / "huge.py", "import torch\n" + "x = torch.ones(1).detach().zero_()\n" * 5000)
    (tmp_path / "model.py").write_text(MODEL)
    model = client.open(tmp_path / "model.py")
    assert [d["code"] for d in client.diagnostics(model)] == ["GF101"]
    logs = client.logs()
    assert any("blob.py" in line and "contains a NUL byte at 1:1" in line for line in logs), logs
    assert any("huge.py" in line and "max-file-size" in line for line in logs), logs
    published = {n["params"]["uri"] for n in client.notifications if n["method"] == "textDocument/publishDiagnostics"}
    assert binary not in published and huge not in published
    assert client.shutdown() == 0

    # A rule that raises costs its own findings only: one log line, the other rules' findings, a live server.
    crashing = textwrap.dedent("""\
        import re, sys
        from autofix import registry
        from autofix.rule import Applicability, Rule

        class Crash(Rule):
            code, name, message, runtime = "GF999", "crash", "never", "never"
            fix_applicability, fix_effect, prefilter = Applicability.NONE, None, re.compile("")
            def check(self, model):
                raise ZeroDivisionError("boom")

        rules = registry.all_rules()
        registry.all_rules = lambda: (*rules, Crash)
        from autofix.cli import main
        sys.exit(main(["server"]))
    """)
    client = server(command=[sys.executable, "-c", crashing])
    model = client.open(tmp_path / "model.py")
    assert [d["code"] for d in client.diagnostics(model)] == ["GF101"]
    assert [line for line in client.logs() if "GF999 crashed: ZeroDivisionError: boom" in line]
    assert client.shutdown() == 0


def test_undecodable_text_and_nul_bytes_are_one_log_line_each_and_the_last_diagnostics_stay(tmp_path, server):
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    client = server()
    document = client.open(path)
    assert [d["code"] for d in client.diagnostics(document, version=1)] == ["GF101"]
    # Each text below would have no finding, were it checked: publishing anything for it would drop GF101.
    fixed = MODEL.replace("self.linear.weight.detach().zero_()", "pass")

    def change(version: int, text: str, raw: bytes = b"") -> None:
        """A didChange to `text`, sent with each "\\u2603" in it as the bytes `raw` (not UTF-8, not JSON-escaped)."""
        message = {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": document, "version": version}, "contentChanges": [{"text": text}]}}
        client.send_body(json.dumps(message).encode().replace(b"\\u2603", raw))

    def logged(words: str) -> None:  # changes closer together than a check are checked once: wait for each
        client.wait(lambda m: m.get("method") == "window/logMessage" and words in m["params"]["message"],
                    what=f"a log line with {words!r}")

    # A client that sends latin-1 (a comment "café" as one byte 0xe9), twice, then a stray 0x8a byte.
    change(2, fixed + "# caf\u2603\n", b"\xe9")
    logged("byte 0xe9")
    change(3, fixed + "# caf\u2603\n# again\n", b"\xe9")
    change(4, fixed + "x = 1  # \u2603\n", b"\x8a")
    logged("byte 0x8a")
    # A NUL byte, twice; then half of a UTF-16 pair (a lone surrogate, which JSON can carry).
    change(5, fixed + "# \0\n")
    logged("NUL byte")
    change(6, fixed + "# \0 again\n")
    change(7, fixed + "# \ud800\n")
    logged("lone surrogate")
    # An incremental change of the last good text's own line: the server's copy still matches the editor's.
    change(8, MODEL + "# \u2603\n", b"\x8a")
    client.notify("textDocument/didChange", {"textDocument": {"uri": document, "version": 9}, "contentChanges": [
        {"range": {"start": {"line": 11, "character": 0}, "end": {"line": 12, "character": 0}}, "text": ""}]})
    assert [d["code"] for d in client.diagnostics(document, version=9)] == ["GF101"]

    published = [n["params"].get("version") for n in client.notifications
                 if n["method"] == "textDocument/publishDiagnostics"]
    assert published == [1, 9], published  # nothing replaced the last good diagnostics in between
    logs = client.logs()
    not_utf8 = [line for line in logs if "not UTF-8" in line]
    assert len(not_utf8) == 2 and all(str(path) in line for line in not_utf8), logs
    assert "byte 0xe9" in not_utf8[0] and "byte 0x8a" in not_utf8[1]
    nul = [line for line in logs if "NUL byte" in line]
    assert len(nul) == 1 and f"{path}: contains a NUL byte at 12:3" in nul[0], logs
    assert len([line for line in logs if "lone surrogate at 12:3" in line]) == 1, logs
    assert all("\n" not in line for line in logs)
    assert not [n for n in client.notifications if n["method"] == "window/showMessage"]
    assert client.shutdown() == 0


EDITED = textwrap.dedent("""\
    import torch
    import torch.nn as nn


    def reset(m):
        m.weight.detach().zero_()


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 2)
            self.linear.bias.detach().zero_()

        def forward(self, x):
            return self.linear(x)


    def prepare():
        net = Net()
        reset(net.linear)
        return net


    def make():
        return nn.Linear(4, 2)


    def use():
        layer = make()
        layer.weight.detach().zero_()
""") + "".join(textwrap.dedent(f"""\


    class Head{i}(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(8, 2)
            self.proj.weight.detach().zero_()

        def forward(self, x):
            return self.proj(x)
""") for i in range(6))


def test_each_edit_publishes_what_autofix_reports_though_only_what_it_can_change_is_checked(tmp_path, server):
    # `reset`'s finding exists only because `prepare` passes it a layer (call-site inference), and `use`'s only
    # because `make` returns one, so an edit of `prepare` or `make` changes a finding in another function; lines
    # added or removed move the findings below them.
    path = tmp_path / "model.py"
    path.write_text(EDITED)
    client = server()
    client.notify("$/setTrace", {"value": "messages"})
    document = client.open(path)
    client.diagnostics(document, version=1)
    edits = [  # each applied to the text the one before left
        lambda text: text.replace("reset(net.linear)", "reset(object())"),  # the callee's finding goes
        lambda text: text.replace("def reset(m):\n", "def reset(m):\n    # moved down\n\n"),  # all below move
        lambda text: text.replace("reset(object())", "reset(net.linear)"),  # the callee's finding is back
        lambda text: text.replace("    reset(net.linear)\n", ""),  # the call is deleted
        lambda text: text.replace("return nn.Linear(4, 2)", "return object()"),  # the caller's finding goes
        lambda text: text.replace("return object()", "return nn.Linear(4, 2)"),  # and is back
        lambda text: text.replace("        self.proj = nn.Linear(8, 2)\n", "        self.proj = nn.Linear(8, 2)\n"
                                  "        self.proj.bias.detach().zero_()\n", 3),  # new findings, in three heads
        lambda text: text[:text.index("def prepare")],  # `prepare` and every head deleted
    ]
    text = EDITED
    for version, edit in enumerate(edits, start=2):
        text = edit(text)
        client.change(document, version, text)
        published = client.diagnostics(document, version=version)  # the first publish: the partial check's
        (tmp_path / "cli.py").write_text(text)
        done = run(["--no-cache", "--output-format", "json", "cli.py"], cwd=tmp_path)
        expected = [(f["code"], f["message"], f["line"] - 1, f["column"] - 1, f["end_line"] - 1, f["end_column"] - 1)
                    for f in json.loads(done.stdout)]
        got = [(d["code"], d["message"], d["range"]["start"]["line"], d["range"]["start"]["character"],
                d["range"]["end"]["line"], d["range"]["end"]["character"]) for d in published]
        assert got == expected, f"version {version}"
    traces = [n["params"]["message"] for n in client.notifications if n["method"] == "$/logTrace"]
    partial = [line for line in traces if " chunks in " in line]
    # Every edit but the last (which deletes most of the module) was checked in part.
    assert len([line for line in partial if any(f"(version {v})" in line for v in range(2, 9))]) == 7, "\n".join(traces)
    assert client.shutdown() == 0


def test_after_an_edit_and_a_pause_the_quick_fixes_are_those_of_the_text_opened_as_it_is(tmp_path, server):
    # After typing pauses, the server checks the edited text again one group of linked chunks at a time and builds
    # every quick fix from that: they must be the fixes it builds for the same text checked whole, when opened.
    more = EDITED + "".join(EDITED[EDITED.index("\n\nclass Head0"):].replace("Head", f"Head{n}_") for n in range(4))
    edited = more.replace("reset(net.linear)", "reset(object())").replace(
        "def reset(m):\n", "def reset(m):\n    # moved down\n\n")
    (tmp_path / "opened.py").write_text(edited)
    (tmp_path / "typed.py").write_text(more)
    client = server()
    client.notify("$/setTrace", {"value": "messages"})
    opened = client.open(tmp_path / "opened.py")
    typed = client.open(tmp_path / "typed.py")
    client.diagnostics(typed, version=1)
    client.change(typed, 2, more.replace("reset(net.linear)", "reset(object())"))
    client.change(typed, 3, edited)

    def fixes(document: str, version: int) -> list:
        diagnostics = client.diagnostics(document, version=version, predicate=with_fixes)
        return [(d["code"], d["range"], d["data"]["fix"]["title"],
                 apply_edits(edited, d["data"]["fix"]["edits"][document])) for d in diagnostics]

    from_whole = fixes(opened, 1)
    assert len(from_whole) == 32  # Net's bias, `use`'s layer and the 30 heads; `reset` gets no layer any more
    assert fixes(typed, 3) == from_whole
    traces = [n["params"]["message"] for n in client.notifications if n["method"] == "$/logTrace"]
    assert [line for line in traces if "typed.py (version 3): checked the whole text, in" in line
            and " 1 pieces" not in line], traces
    assert client.shutdown() == 0


def test_a_client_that_pulls_gets_diagnostics_when_it_asks_and_none_pushed(tmp_path, server):
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    client = server(capabilities={"textDocument": {"diagnostic": {"dynamicRegistration": False}},
                                  "workspace": {"diagnostics": {"refreshSupport": True}}})
    document = client.open(path)
    report = client.request("textDocument/diagnostic", {"textDocument": {"uri": document}})
    assert report["kind"] == "full"
    assert [(d["code"], d["range"]) for d in report["items"]] == [("GF101", MODEL_RANGE)]
    # Once the fixes are built, the server asks the client to pull again, and they come in `data`.
    client.wait(lambda m: m.get("method") == "workspace/diagnostic/refresh", what="a refresh request")
    [item] = client.request("textDocument/diagnostic", {"textDocument": {"uri": document}})["items"]
    assert item["data"]["fix"]["title"] == "autofix: fix GF101 (detached-inplace-write)"
    client.change(document, 2, MODEL.replace("self.linear.weight.detach().zero_()", "pass"))
    assert client.request("textDocument/diagnostic", {"textDocument": {"uri": document}})["items"] == []
    assert not [n for n in client.notifications if n["method"] == "textDocument/publishDiagnostics"]


def test_hover_on_a_finding_shows_the_rules_documentation(tmp_path, server):
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    client = server()
    document = client.open(path)
    client.diagnostics(document)
    hover = client.request("textDocument/hover", {"textDocument": {"uri": document}, "position": {"line": 7, "character": 20}})
    expected = run(["explain", "GF101"], cwd=tmp_path).stdout.decode()
    assert hover["contents"] == {"kind": "markdown", "value": expected}
    assert client.request("textDocument/hover", {"textDocument": {"uri": document}, "position": {"line": 0, "character": 0}}) is None


def test_exit_without_shutdown_is_exit_code_1(tmp_path, server):
    client = server()
    client.notify("exit")
    assert client.process.wait(timeout=30) == 1


# --- a real editor -------------------------------------------------------------------------------------------

NVIM_SCRIPT = r"""
local path, log = os.getenv('AUTOFIX_TEST_FILE'), os.getenv('AUTOFIX_TEST_LOG')
local function say(text)
  local f = io.open(log, 'a'); f:write(text .. '\n'); f:close()
end
vim.cmd('edit ' .. vim.fn.fnameescape(path))
local buf = vim.api.nvim_get_current_buf()
local config = {name = 'autofix', cmd = {'autofix', 'server'}, root_dir = vim.fn.fnamemodify(path, ':h')}
local client_id
if vim.lsp.start then
  client_id = vim.lsp.start(config)
else  -- Neovim 0.7 (Debian 12): the older entry points
  client_id = vim.lsp.start_client(config)
  vim.lsp.buf_attach_client(buf, client_id)
end
local ok = vim.wait(30000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
if not ok then say('no diagnostics'); vim.cmd('cquit 3') end
local diagnostic = vim.diagnostic.get(buf)[1]
say('diagnostic ' .. diagnostic.lnum .. ' ' .. diagnostic.col .. ' ' .. tostring(diagnostic.code or (diagnostic.user_data and diagnostic.user_data.lsp and diagnostic.user_data.lsp.code)))
local client = vim.lsp.get_client_by_id(client_id)
local params = vim.lsp.util.make_range_params()
params.range = {start = {line = diagnostic.lnum, character = diagnostic.col},
                ['end'] = {line = diagnostic.end_lnum, character = diagnostic.end_col}}
params.context = {diagnostics = vim.lsp.diagnostic.get_line_diagnostics(buf, diagnostic.lnum)}
local answers = vim.lsp.buf_request_sync(buf, 'textDocument/codeAction', params, 30000)
local chosen
for _, answer in pairs(answers or {}) do
  for _, action in ipairs(answer.result or {}) do
    if action.title:find('autofix: fix GF101', 1, true) then chosen = action end
  end
end
if not chosen then say('no quick fix'); vim.cmd('cquit 4') end
vim.lsp.util.apply_workspace_edit(chosen.edit, client.offset_encoding or 'utf-16')
vim.cmd('write')
say('written')
vim.cmd('qall!')
"""


def test_neovim_applies_the_quick_fix_and_writes_what_autofix_fix_writes(tmp_path):
    nvim = shutil.which("nvim")
    if nvim is None:
        pytest.skip("nvim is not installed (CI installs Debian's neovim package: apt-get install neovim)")
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    expected = cli_fix(tmp_path, "model.py", MODEL)
    script, log = tmp_path / "drive.lua", tmp_path / "nvim.log"
    script.write_text(NVIM_SCRIPT)
    done = subprocess.run(
        [nvim, "--headless", "--clean", "-n", "-c", f"luafile {script}"],
        check=False, cwd=tmp_path, capture_output=True, timeout=120,
        env={**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
             "AUTOFIX_TEST_FILE": str(path), "AUTOFIX_TEST_LOG": str(log)},
    )
    said = log.read_text() if log.exists() else ""
    assert done.returncode == 0, (done.returncode, said, done.stdout[-2000:], done.stderr[-2000:])
    assert said.splitlines()[0] == "diagnostic 7 8 GF101"
    assert path.read_text() == expected
