"""The `full` and `concise` output formats through the installed CLI: piped, and in a pseudo-terminal as a person
at a terminal runs it (full by default, coloured by rich; NO_COLOR takes the colour away)."""
from __future__ import annotations

import json
import os
import pty
import re
import subprocess

import nbformat

from conftest import autofix_command, run

INIT = (
    "import torch\n"
    "import torch.nn as nn\n"
    "\n"
    "\n"
    "def init(m: nn.Linear):\n"
    "    m.bias.data.fill_(0)\n"
    "    m.weight.data.normal_(0.0, 0.02)\n"
)
MESSAGE = "In-place write through `.data` hides it from autograd: write under `torch.no_grad()` instead"

# Each finding's frame shows its own fix applied by itself (as a review suggestion is), so the two adjacent
# writes that `--fix` joins into one block are previewed one at a time.
INIT_FULL = f"""\
GF101 [*] {MESSAGE}
 --> init.py:6:5
  |
4 |
5 | def init(m: nn.Linear):
6 |     m.bias.data.fill_(0)
  |     ^^^^^^^^^^^^^^^^^^^^ GF101
7 |     m.weight.data.normal_(0.0, 0.02)
  |
  = safe fix (preserving):
5 5 |  def init(m: nn.Linear):
6   | -    m.bias.data.fill_(0)
  6 | +    with torch.no_grad():
  7 | +        m.bias.fill_(0)
7 8 |      m.weight.data.normal_(0.0, 0.02)

GF101 [*] {MESSAGE}
 --> init.py:7:5
  |
5 | def init(m: nn.Linear):
6 |     m.bias.data.fill_(0)
7 |     m.weight.data.normal_(0.0, 0.02)
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ GF101
  |
  = safe fix (preserving):
6 6 |      m.bias.data.fill_(0)
7   | -    m.weight.data.normal_(0.0, 0.02)
  7 | +    with torch.no_grad():
  8 | +        m.weight.normal_(0.0, 0.02)

Found 2 findings. [*] 2 fixable with `--fix`.
"""
INIT_CONCISE = f"""\
init.py:6:5: GF101 [*] {MESSAGE}
init.py:7:5: GF101 [*] {MESSAGE}
Found 2 findings. [*] 2 fixable with `--fix`.
"""

# SGR parameters that set a colour: 30-37/90-97 (foreground), 40-47/100-107 (background), 38/48 (extended).
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:[;m])")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def in_terminal(args: list[str], cwd, env: dict | None = None) -> tuple[int, str]:
    """Run the installed CLI with a pseudo-terminal as its stdout and stdin; returns (exit code, what it printed)."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full_env.update({"TERM": "xterm-256color", "COLUMNS": "200", **(env or {})})
    leader, follower = pty.openpty()
    process = subprocess.Popen(autofix_command() + args, cwd=cwd, stdin=follower, stdout=follower,
                               stderr=subprocess.DEVNULL, env=full_env, close_fds=True)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    code = process.wait(timeout=120)
    return code, b"".join(chunks).decode().replace("\r\n", "\n")


def test_piped_output_is_concise_by_default_and_full_when_asked(tmp_path):
    (tmp_path / "init.py").write_text(INIT)
    default = run(["init.py", "--no-cache"], tmp_path)
    assert default.returncode == 1
    assert default.stdout.decode() == INIT_CONCISE
    for name in ("concise", "text"):
        assert run(["init.py", "--output-format", name], tmp_path).stdout.decode() == INIT_CONCISE
    full = run(["init.py", "--output-format", "full", "--no-cache"], tmp_path)
    assert full.returncode == 1
    assert full.stdout.decode() == INIT_FULL
    # A warm cache that stored previews gives the same frames, and a concise run does not reuse them.
    assert run(["init.py", "--output-format", "full"], tmp_path).stdout.decode() == INIT_FULL
    assert run(["init.py", "--output-format", "full"], tmp_path).stdout.decode() == INIT_FULL
    assert run(["init.py"], tmp_path).stdout.decode() == INIT_CONCISE


def test_a_terminal_gets_full_frames_in_colour_by_default_and_no_colour_with_no_color(tmp_path):
    (tmp_path / "init.py").write_text(INIT)
    code, shown = in_terminal(["init.py", "--no-cache"], tmp_path)
    assert code == 1
    assert COLOUR.search(shown), shown
    assert ANSI.sub("", shown) == INIT_FULL
    code, plain = in_terminal(["init.py", "--no-cache"], tmp_path, {"NO_COLOR": "1"})
    assert code == 1
    assert not COLOUR.search(plain), plain
    assert ANSI.sub("", plain) == INIT_FULL
    code, concise = in_terminal(["init.py", "--output-format", "concise"], tmp_path)
    assert ANSI.sub("", concise) == INIT_CONCISE


def test_machine_formats_do_not_change_on_a_terminal(tmp_path):
    (tmp_path / "init.py").write_text(INIT)
    piped = run(["init.py", "--format", "json"], tmp_path).stdout.decode()
    code, shown = in_terminal(["init.py", "--format", "json"], tmp_path)
    assert code == 1
    assert shown == piped
    fields = ["cell", "code", "column", "end_column", "end_line", "end_location", "filename", "fix", "line",
              "location", "message", "name", "noqa_row", "path", "severity", "url"]
    assert [(row["line"], row["code"], sorted(row)) for row in json.loads(shown)] == [
        (6, "GF101", fields),
        (7, "GF101", fields),
    ]
    piped_sarif = run(["init.py", "--format", "sarif"], tmp_path).stdout.decode()
    assert in_terminal(["init.py", "--format", "sarif"], tmp_path)[1] == piped_sarif


def test_a_finding_without_a_fix_gets_a_help_line_and_an_unsafe_fix_says_how_to_apply_it(tmp_path):
    (tmp_path / "layer.py").write_text(
        "import torch.nn as nn\n"
        "class M(nn.Module):\n"
        "    def forward(self, x):\n"
        "        proj = nn.Linear(x.shape[-1], 8)\n"
        "        return proj(x)\n"
    )
    (tmp_path / "leaf.py").write_text("import torch\n\nW = torch.randn(784, 10, requires_grad=True)\nW *= 0.01\n")
    out = run(["layer.py", "leaf.py", "--output-format", "full"], tmp_path).stdout.decode()
    frames = out.split("\n\n")
    layer = next(f for f in frames if "\n --> layer.py:4:" in f)
    assert layer.splitlines()[2:] == [
        "  |",
        "2 | class M(nn.Module):",
        "3 |     def forward(self, x):",
        "4 |         proj = nn.Linear(x.shape[-1], 8)",
        "  |                ^^^^^^^^^^^^^^^^^^^^^^^^^ GF504",
        "5 |         return proj(x)",
        "  |",
        "  = help: no automatic fix; `autofix explain GF504` says what to do",
    ]
    leaf = next(f for f in frames if "\n --> leaf.py:4:1\n" in f)
    assert "[*]" not in leaf.splitlines()[0]  # an unsafe fix is not applied by `--fix` alone
    assert leaf.splitlines()[2:] == [
        "  |",
        "2 |",
        "3 | W = torch.randn(784, 10, requires_grad=True)",
        "4 | W *= 0.01",
        "  | ^^^^^^^^^ GF302",
        "  |",
        "  = unsafe fix (repairing), applied with `--fix --unsafe-fixes`:",
        "3 3 |  W = torch.randn(784, 10, requires_grad=True)",
        "4   | -W *= 0.01",
        "  4 | +with torch.no_grad():",
        "  5 | +    W *= 0.01",
    ]


def test_after_fix_the_frames_show_what_remains_in_the_fixed_text(tmp_path):
    (tmp_path / "leaf.py").write_text(
        "import torch\n\nW = torch.randn(784, 10, requires_grad=True)\nW *= 0.01\nW.data.zero_()\n"
    )
    out = run(["leaf.py", "--fix", "--output-format", "full"], tmp_path).stdout.decode()
    assert (tmp_path / "leaf.py").read_text().endswith("with torch.no_grad():\n    W.zero_()\n")
    assert out.startswith("GF302 ") and out.splitlines()[1] == " --> leaf.py:4:1"
    assert out.splitlines()[2:8] == [
        "  |",
        "2 |",
        "3 | W = torch.randn(784, 10, requires_grad=True)",
        "4 | W *= 0.01",
        "  | ^^^^^^^^^ GF302",
        "5 | with torch.no_grad():",
    ]
    assert "  = help: an unsafe fix is available with `--fix --unsafe-fixes`; `--diff` shows it" in out.splitlines()


def test_a_notebook_frame_shows_its_cells_lines(tmp_path):
    book = nbformat.v4.new_notebook()
    book.cells = [
        nbformat.v4.new_code_cell("import torch\nimport torch.nn as nn\n%matplotlib inline"),
        nbformat.v4.new_markdown_cell("Some *prose*."),
        nbformat.v4.new_code_cell("lin = nn.Linear(2, 2)\n%time lin.weight.data.zero_()\nlin.bias.data.zero_()\nprint(lin)"),
    ]
    nbformat.write(book, tmp_path / "t.ipynb")
    out = run(["t.ipynb", "--output-format", "full"], tmp_path).stdout.decode()
    assert out.split("\n\n")[0].splitlines() == [
        f"GF101 [*] {MESSAGE}",
        " --> t.ipynb:cell 3:3:1",
        "  |",
        "1 | lin = nn.Linear(2, 2)",
        "2 | %time lin.weight.data.zero_()",
        "3 | lin.bias.data.zero_()",
        "  | ^^^^^^^^^^^^^^^^^^^^^ GF101",
        "4 | print(lin)",
        "  |",
        "  = safe fix (preserving):",
        "2 2 |  %time lin.weight.data.zero_()",
        "3   | -lin.bias.data.zero_()",
        "  3 | +with torch.no_grad():",
        "  4 | +    lin.bias.zero_()",
        "4 5 |  print(lin)",
    ]
