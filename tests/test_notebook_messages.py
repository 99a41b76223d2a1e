"""A notebook finding's message names lines within its cell (or names the other cell), never lines of the joined
module that no cell has: in concise, full and JSON output, after --fix, and in `autofix validate`."""
from __future__ import annotations

import json
import re

import nbformat

from conftest import run

CELLS = [
    ("code", "import torch\nimport torch.nn as nn"),
    ("markdown", "The model"),
    ("code", "model = nn.Linear(4, 1)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\nx = torch.randn(8, 4)"),
    ("code", "for step in range(3):\n    opt.zero_grad()\n    out = model(x)\n    loss = out.pow(2).mean().detach()\n"
             "    loss.requires_grad_(True)\n    loss.backward()\n    opt.step()"),
]
# backward() in the next cell: the message names that cell.
ACROSS = [
    ("code", "import torch\nimport torch.nn as nn"),
    ("code", "model = nn.Linear(4, 1)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\nx = torch.randn(8, 4)"),
    ("code", "opt.zero_grad()\nout = model(x)\nloss = out.pow(2).mean().detach()"),
    ("code", "loss.backward()\nopt.step()"),
]


def notebook(path, cells) -> None:
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(text) if kind == "code" else nbformat.v4.new_markdown_cell(text)
                  for kind, text in cells]
    nbformat.write(book, path)


def named_lines(message: str) -> list[str]:
    return re.findall(r"(?:cell \d+ )?line \d+", message)


def test_concise_json_and_full_name_lines_within_the_cell(tmp_path):
    notebook(tmp_path / "train.ipynb", CELLS)
    concise = run(["train.ipynb", "--no-cache"], tmp_path).stdout.decode().splitlines()
    assert concise[:2] == [
        "train.ipynb:cell 4:4:12: GF201 `.detach()` cuts the loss given to backward() at line 6 from the graph",
        "train.ipynb:cell 4:5:5: GF203 requires_grad patched onto a value cut from the graph by `.detach()` at "
        "line 4: the loss given to backward() at line 6 trains nothing",
    ]
    rows = json.loads(run(["train.ipynb", "--output-format", "json"], tmp_path).stdout)
    assert [(r["cell"], r["location"]["row"], named_lines(r["message"])) for r in rows] == [
        (4, 4, ["line 6"]), (4, 5, ["line 4", "line 6"])]
    full = run(["train.ipynb", "--output-format", "full"], tmp_path).stdout.decode()
    assert "backward() at line 6 from the graph" in full
    # Every line a message names exists in the cell it is in (this cell has 7 lines).
    for row in rows:
        for named in named_lines(row["message"]):
            assert 1 <= int(named.split()[-1]) <= 7


def test_a_line_in_another_cell_is_named_with_its_cell(tmp_path):
    notebook(tmp_path / "across.ipynb", ACROSS)
    concise = run(["across.ipynb", "--no-cache"], tmp_path).stdout.decode().splitlines()
    assert concise[0] == ("across.ipynb:cell 3:3:8: GF201 [*] `.detach()` cuts the loss given to backward() at "
                          "cell 4 line 1 from the graph")
    fixed = run(["across.ipynb", "--fix", "--show-fixes"], tmp_path)
    assert fixed.returncode == 0
    assert "    1 \u00d7 GF201 (detached-loss)" in fixed.stdout.decode()


RAISES = [
    ("code", "import torch"),
    ("markdown", "A leaf scaled in place: it raises at once."),
    ("code", "W = torch.randn(4, 1, requires_grad=True)\nW *= 0.01\nopt = torch.optim.SGD([W], lr=0.1)\n"
             "x = torch.randn(8, 4)\nfor step in range(3):\n    opt.zero_grad()\n    loss = (x @ W).pow(2).mean()\n"
             "    loss.backward()\n    opt.step()"),
]


def test_validate_names_the_cell_and_line_an_exception_was_raised_at(tmp_path):
    import pytest

    pytest.importorskip("torch")
    notebook(tmp_path / "leaf.ipynb", RAISES)
    result = run(["validate", "--device", "cpu", "--max-steps", "2", "--unsafe-fixes", "--json", "v.json",
                  "leaf.ipynb"], tmp_path)
    output = result.stdout.decode()
    assert "(cell 3 line 2)" in output, output + result.stderr.decode()
    before = json.loads((tmp_path / "v.json").read_text())["outcomes"][0]["before"]
    assert (before["exception"]["cell"], before["exception"]["line"]) == (3, 2)
