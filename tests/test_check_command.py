"""ruff's `check` command line, as autofix has it: `autofix check`, ruff's check flags with ruff's meaning,
autofix.toml / .autofix.toml, and `--statistics` alone. Each through the installed CLI."""
from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from conftest import autofix_command, run

BUGGY = "import torch\n\n\ndef init(m: torch.nn.Linear):\n    m.weight.data.normal_(0.0, 0.02)\n    m.bias.data.fill_(0)\n"
LEAF = "import torch\n\nW = torch.randn(784, 10, requires_grad=True)\nW *= 0.01\n"  # GF302: an unsafe fix
# GF601 (unsafe fix) in a file that binds both `torch` and `nn`.
TOWER = (
    "import torch\nfrom torch import nn\n\n\nclass Tower(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.blocks = [nn.Linear(2, 2) for _ in range(3)]\n\n    def forward(self, x):\n"
    "        for block in self.blocks:\n            x = block(x)\n        return x\n"
)
# GF606 (unsafe fix): eval() in the loop, never undone.
EVAL_LOOP = (
    "import torch\nfrom torch import nn\n\nmodel = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1))\n"
    "opt = torch.optim.SGD(model.parameters(), lr=0.1)\nfor step in range(10):\n    x = torch.randn(4, 2)\n"
    "    loss = model(x).sum()\n    opt.zero_grad()\n    loss.backward()\n    opt.step()\n    model.eval()\n"
    "    with torch.no_grad():\n        print(model(x).sum())\n"
)


def lines(result) -> list[str]:
    return result.stdout.decode().splitlines()


def test_check_is_the_bare_command_with_every_option(tmp_path):
    (tmp_path / "bug.py").write_text(BUGGY)
    for args in ([], ["--output-format", "json"], ["--select", "GF1", "--diff"], ["--statistics"]):
        bare = run([*args, "bug.py"], tmp_path)
        check = run(["check", *args, "bug.py"], tmp_path)
        assert (check.returncode, check.stdout, check.stderr) == (bare.returncode, bare.stdout, bare.stderr)
    assert run(["check", "."], tmp_path).returncode == 1
    assert b"no such file" not in run(["check", "."], tmp_path).stderr
    assert b"usage: autofix check" in run(["check", "--help"], tmp_path).stdout


def test_exit_zero_and_exit_non_zero_on_fix(tmp_path):
    (tmp_path / "bug.py").write_text(BUGGY)
    assert run(["check", "bug.py", "--exit-zero"], tmp_path).returncode == 0
    assert run(["check", "bug.py", "-e"], tmp_path).returncode == 0
    assert run(["check", "nope.py", "--exit-zero"], tmp_path).returncode == 2  # errors still exit 2
    fixed = run(["check", "bug.py", "--fix", "--exit-non-zero-on-fix"], tmp_path)
    assert fixed.returncode == 1  # everything was fixed, but a file changed
    assert lines(fixed) == ["Fixed 2 findings; all checks passed."]
    again = run(["check", "bug.py", "--fix", "--exit-non-zero-on-fix"], tmp_path)
    assert again.returncode == 0  # nothing left to fix
    (tmp_path / "bug.py").write_text(BUGGY)
    assert run(["check", "bug.py", "--fix"], tmp_path).returncode == 0


def test_show_fixes_lists_what_was_fixed_per_file_and_rule(tmp_path):
    (tmp_path / "a.py").write_text(BUGGY)
    (tmp_path / "leaf.py").write_text(LEAF)
    result = run(["check", ".", "--fix", "--show-fixes"], tmp_path)
    assert result.returncode == 1
    assert lines(result) == [
        "./leaf.py:4:1: GF302 In-place write to `W`, a leaf that requires grad: raises at once",
        "",
        "Fixed 2 findings:",
        "- ./a.py:",
        "    2 \u00d7 GF101 (detached-inplace-write)",
        "",
        "Found 3 findings (2 fixed, 1 remaining). 1 more fixable with `--fix --unsafe-fixes`.",
    ]
    refused = run(["check", ".", "--diff", "--show-fixes"], tmp_path)
    assert refused.returncode == 2 and len(refused.stderr.decode().splitlines()) == 1


def test_extend_select_adds_to_the_selection(tmp_path):
    (tmp_path / "bug.py").write_text(BUGGY)
    (tmp_path / "leaf.py").write_text(LEAF)
    codes = lambda result: sorted({line.split()[1] for line in lines(result)[:-1]})  # noqa: E731
    assert codes(run(["check", ".", "--select", "GF1"], tmp_path)) == ["GF101"]
    assert codes(run(["check", ".", "--select", "GF1", "--extend-select", "GF302"], tmp_path)) == ["GF101", "GF302"]
    (tmp_path / "autofix.toml").write_text('select = ["GF3"]\n')
    assert codes(run(["check", "."], tmp_path)) == ["GF302"]
    assert codes(run(["check", ".", "--extend-select", "GF101"], tmp_path)) == ["GF101", "GF302"]
    (tmp_path / "autofix.toml").write_text('select = ["GF3"]\nextend-select = ["GF1"]\n')
    assert codes(run(["check", "."], tmp_path)) == ["GF101", "GF302"]
    bad = run(["check", ".", "--extend-select", "XX9"], tmp_path)
    assert bad.returncode == 2 and "XX9" in bad.stderr.decode()


def test_add_noqa_suppresses_every_finding_and_a_second_run_reports_nothing(tmp_path):
    text = BUGGY.replace("fill_(0)\n", "fill_(0)  # keep\n") + 'DOC = """\n"""\n'
    (tmp_path / "bug.py").write_text(text)
    (tmp_path / "leaf.py").write_text(LEAF.replace("W *= 0.01\n", "W *= 0.01  # noqa: GF999\n"))
    first = run(["check", ".", "--add-noqa"], tmp_path)
    assert first.returncode == 0
    assert first.stdout == b""
    assert first.stderr.decode() == "Added 3 noqa directives.\n"
    assert (tmp_path / "bug.py").read_text() == text.replace(
        "normal_(0.0, 0.02)\n", "normal_(0.0, 0.02)  # noqa: GF101\n").replace("# keep\n", "# keep  # noqa: GF101\n")
    assert (tmp_path / "leaf.py").read_text().endswith("W *= 0.01  # noqa: GF302, GF999\n")
    second = run(["check", ".", "--add-noqa"], tmp_path)
    assert (second.returncode, second.stdout, second.stderr) == (0, b"", b"")
    assert run(["check", "."], tmp_path).returncode == 0


def test_show_files_and_show_settings(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 2\n")
    (tmp_path / "skip").mkdir()
    (tmp_path / "skip" / "c.py").write_text("z = 3\n")
    (tmp_path / "autofix.toml").write_text('ignore = ["GF5"]\nextend-exclude = ["skip"]\n')
    files = run(["check", "--show-files"], tmp_path)
    assert files.returncode == 0
    assert lines(files) == [str(tmp_path / "b.py"), str(tmp_path / "pkg" / "a.py")]
    settings = run(["check", "--show-settings", "b.py"], tmp_path)
    assert settings.returncode == 0
    shown = lines(settings)
    assert shown[:2] == ["Resolved settings for: b.py", f"Settings path: {tmp_path / 'autofix.toml'}"]
    assert 'ignore = ["GF5"]' in shown and 'exclude = ["skip"]' in shown
    rules = next(line for line in shown if line.startswith("rules = "))
    assert '"GF101"' in rules and "GF501" not in rules


def _codes(result) -> list[str]:
    return sorted({row["code"] for row in json.loads(result.stdout)})


def test_autofix_toml_is_found_upward_with_ruffs_precedence(tmp_path):
    (tmp_path / "bug.py").write_text(BUGGY)
    (tmp_path / "leaf.py").write_text(LEAF)
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "leaf.py").write_text(LEAF)
    (sub / "bug.py").write_text(BUGGY)
    (tmp_path / "pyproject.toml").write_text('[tool.autofix]\nselect = ["GF302"]\n')
    json_run = lambda cwd: run(["check", ".", "--output-format", "json"], cwd)  # noqa: E731
    assert _codes(json_run(sub)) == ["GF302"]  # found upward
    (tmp_path / "autofix.toml").write_text('select = ["GF101"]\n')
    assert _codes(json_run(sub)) == ["GF101"]  # autofix.toml over pyproject.toml in one folder
    (tmp_path / ".autofix.toml").write_text('select = ["GF3"]\n')
    assert _codes(json_run(sub)) == ["GF302"]  # .autofix.toml over autofix.toml
    (sub / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert _codes(json_run(sub)) == ["GF302"]  # a pyproject.toml without [tool.autofix] does not count
    (sub / "pyproject.toml").write_text('[tool.autofix]\nselect = ["GF1"]\n')
    assert _codes(json_run(sub)) == ["GF101"]  # the nearest folder wins


@pytest.mark.parametrize("name, text, codes", [
    ("ruff-like.toml", 'select = ["GF101"]\n', ["GF101"]),
    ("any.toml", '[tool.autofix]\nselect = ["GF302"]\n', ["GF302"]),
    ("pyproject.toml", '[tool.autofix]\nselect = ["GF302"]\n', ["GF302"]),
])
def test_config_accepts_top_level_keys_or_a_tool_autofix_table(tmp_path, name, text, codes):
    (tmp_path / "bug.py").write_text(BUGGY)
    (tmp_path / "leaf.py").write_text(LEAF)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / name).write_text(text)
    assert _codes(run(["check", ".", "--output-format", "json", "--config", f"conf/{name}"], tmp_path)) == codes


@pytest.mark.parametrize("name, text", [
    ("empty.toml", ""),
    ("pyproject.toml", '[project]\nname = "x"\n'),
    ("other.toml", '[tool.black]\nline-length = 100\n'),
])
def test_a_config_file_without_autofix_settings_is_an_error(tmp_path, name, text):
    (tmp_path / "bug.py").write_text(BUGGY)
    (tmp_path / name).write_text(text)
    result = run(["check", ".", "--config", name], tmp_path)
    assert result.returncode == 2
    assert result.stdout == b""
    message = result.stderr.decode().splitlines()
    assert len(message) == 1 and message[0].startswith(f"error: {name}: ") and "no autofix settings" in message[0]


def test_a_config_with_keys_autofix_does_not_know_is_an_error(tmp_path):
    (tmp_path / "bug.py").write_text(BUGGY)
    (tmp_path / "ruff.toml").write_text("line-length = 100\n")
    result = run(["check", ".", "--config", "ruff.toml"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [
        result.stderr.decode().strip()] and "unknown key 'line-length'" in result.stderr.decode()


def test_statistics_prints_only_its_table_and_counts_unsafe_fixes_with_unsafe_fixes(tmp_path):
    (tmp_path / "tower.py").write_text(TOWER)
    (tmp_path / "loop.py").write_text(EVAL_LOOP)
    (tmp_path / "bug.py").write_text(BUGGY)
    plain = run(["check", ".", "--statistics"], tmp_path)
    assert plain.returncode == 1
    header = "code   name                          files  findings  fixed  unfixable"
    assert lines(plain) == [
        header,
        "GF101  detached-inplace-write            1         2      0          0",
        "GF601  unregistered-submodule            1         1      0          1",
        "GF606  eval-without-train                1         1      0          1",
        "3 files checked, 0 with errors",
    ]
    unsafe = run(["check", ".", "--statistics", "--unsafe-fixes"], tmp_path)
    assert lines(unsafe)[2:4] == [
        "GF601  unregistered-submodule            1         1      0          0",
        "GF606  eval-without-train                1         1      0          0",
    ]


def test_an_inserted_torch_name_uses_the_alias_the_file_binds(tmp_path):
    (tmp_path / "tower.py").write_text(TOWER)
    result = run(["check", "tower.py", "--fix", "--unsafe-fixes"], tmp_path)
    assert result.returncode == 0, result.stdout
    fixed = (tmp_path / "tower.py").read_text()
    assert "        self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])\n" in fixed
    assert "torch.nn.ModuleList" not in fixed
    (tmp_path / "init.py").write_text(BUGGY.replace("import torch\n", "import torch\nfrom torch import no_grad\n"))
    run(["check", "init.py", "--fix"], tmp_path)
    assert "    with no_grad():\n" in (tmp_path / "init.py").read_text()


def _read_until(stream, wanted: bytes, deadline: float) -> bytes:
    """What `stream` gives until `wanted` appears (or the deadline passes: a bound on a hang, no timing claim)."""
    seen = b""
    os.set_blocking(stream.fileno(), False)
    while wanted not in seen and time.monotonic() < deadline:
        chunk = stream.read()
        if chunk:
            seen += chunk
        else:
            time.sleep(0.05)
    return seen


def test_watch_checks_again_when_a_file_changes(tmp_path):
    (tmp_path / "bug.py").write_text(BUGGY)
    env = {**os.environ, "NO_COLOR": "1"}
    process = subprocess.Popen(autofix_command() + ["check", "--watch", "--no-cache", "."], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        status = _read_until(process.stderr, b"Watching for file changes.", time.monotonic() + 300)
        assert b"Starting autofix in watch mode..." in status
        first = _read_until(process.stdout, b"Found 2 findings", time.monotonic() + 30)
        assert b"bug.py:5:5: GF101" in first and b"Found 2 findings" in first
        (tmp_path / "bug.py").write_text(BUGGY.replace("    m.bias.data.fill_(0)\n", ""))
        second = _read_until(process.stdout, b"Found 1 finding.", time.monotonic() + 300)
        assert b"Found 1 finding." in second, second
        assert process.poll() is None  # still watching
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert b"File change detected..." in process.stderr.read()


def test_fix_only_fixes_and_reports_only_what_it_fixed(tmp_path):
    (tmp_path / "bug.py").write_text(BUGGY)
    (tmp_path / "leaf.py").write_text(LEAF)
    first = run(["check", "bug.py", "leaf.py", "--fix-only"], tmp_path)
    assert (first.returncode, lines(first)) == (0, ["Fixed 2 findings (1 additional fix available with `--unsafe-fixes`)."])
    assert "with torch.no_grad():" in (tmp_path / "bug.py").read_text()
    assert (tmp_path / "leaf.py").read_text() == LEAF  # an unsafe fix needs --unsafe-fixes
    second = run(["check", "bug.py", "leaf.py", "--fix-only", "--exit-non-zero-on-fix"], tmp_path)
    assert (second.returncode, lines(second)) == (0, ["No findings fixed (1 fix available with `--unsafe-fixes`)."])


def test_output_file_silent_and_isolated(tmp_path):
    (tmp_path / "bug.py").write_text(BUGGY)
    written = run(["check", "bug.py", "--output-format", "json", "-o", "report.json"], tmp_path)
    assert (written.returncode, written.stdout) == (1, b"")
    assert [row["code"] for row in json.loads((tmp_path / "report.json").read_text())] == ["GF101", "GF101"]
    silent = run(["check", "bug.py", "--silent"], tmp_path)
    assert (silent.returncode, silent.stdout, silent.stderr) == (1, b"", b"")
    (tmp_path / "autofix.toml").write_text('ignore = ["GF1"]\n')
    assert run(["check", "bug.py"], tmp_path).returncode == 0
    assert run(["check", "bug.py", "--isolated"], tmp_path).returncode == 1
    assert run(["check", "bug.py", "--isolated", "--config", "autofix.toml"], tmp_path).returncode == 2


def test_add_noqa_in_a_notebook_writes_the_finding_cells_line(tmp_path):
    import nbformat

    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell("import torch\nimport torch.nn as nn"),
                  nbformat.v4.new_markdown_cell("Init"),
                  nbformat.v4.new_code_cell("lin = nn.Linear(2, 2)\nlin.weight.data.zero_()\nprint(lin)")]
    nbformat.write(book, tmp_path / "t.ipynb")
    first = run(["check", "t.ipynb", "--add-noqa"], tmp_path)
    assert (first.returncode, first.stderr) == (0, b"Added 1 noqa directive.\n")
    cells = nbformat.read(tmp_path / "t.ipynb", as_version=4).cells
    assert cells[2].source == "lin = nn.Linear(2, 2)\nlin.weight.data.zero_()  # noqa: GF101\nprint(lin)"
    assert cells[0].source == "import torch\nimport torch.nn as nn"
    second = run(["check", "t.ipynb", "--add-noqa"], tmp_path)
    assert (second.returncode, second.stdout, second.stderr) == (0, b"", b"")
    assert run(["check", "t.ipynb"], tmp_path).returncode == 0
