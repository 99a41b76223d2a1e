"""Jupyter notebooks through the installed CLI: cell positions, per-cell diffs, fixes that touch only `source`,
bad notebooks, discovery, executors, the cache, --changed-since, --interactive and `autofix validate`.

Every notebook here is built in the test as JSON, in the styles real writers produce.
"""
from __future__ import annotations

import copy
import json
import subprocess

import nbformat
import pytest

from autofix import notebook
from conftest import run
from test_scale import _interact, _tamper, git

GF101_MESSAGE = "In-place write through `.detach()`: write to the tensor under `torch.no_grad()` instead"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

# (cell type, source, extra fields) of the test notebook; cell numbers in comments count every cell, from 1.
CELLS = [
    ("code", "%matplotlib inline\nimport torch\nmodel = torch.nn.Linear(4, 2)", {  # cell 1
        "execution_count": 1,
        "metadata": {"tags": ["setup"], "scrolled": True},
        "outputs": [
            {"name": "stdout", "output_type": "stream", "text": ["h\u00e9llo \u2713\n"]},
            {"data": {"image/png": PNG, "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
             "execution_count": 1, "metadata": {}, "output_type": "execute_result"},
        ],
    }),
    ("markdown", "## Training\nNot code: `p.detach().zero_()`", {  # cell 2
        "attachments": {"plot.png": {"image/png": PNG}},
    }),
    ("code", '%%bash\necho "$HOME" && ls -la | head -n 2', {}),  # cell 3: bash, not Python
    ("code", "%%writefile helper.py\nfor p in model.parameters():\n    p.detach().zero_()", {}),  # cell 4: a file
    ("code", ("!pip install -q torch\nfor p in model.parameters():\n    p.detach().zero_()\nmodel?\n"  # cell 5
             "%time y = model(torch.ones(1, 4))"), {"execution_count": 7}),
    ("code", "for p in model.parameters():\n    p.require_grad = False", {}),  # cell 6
    ("raw", "for p in model.parameters():\n    p.detach().zero_()", {}),  # cell 7
]
FIXED = {
    5: "!pip install -q torch\nfor p in model.parameters():\n    with torch.no_grad():\n        p.zero_()\nmodel?\n"
       "%time y = model(torch.ones(1, 4))",
    6: "for p in model.parameters():\n    p.requires_grad = False",
}


def build(cells=CELLS, form: str = "list", metadata: dict | None = None) -> dict:
    """An nbformat 4.5 notebook: `form` "list" writes each source as a list of lines (as nbformat does), "string" as one string."""
    out = []
    for number, (kind, source, extra) in enumerate(cells, 1):
        cell = {"cell_type": kind, "id": f"cell-{number}", "metadata": {}, "source": _source(source, form)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cell.update(copy.deepcopy(extra))
        out.append(cell)
    meta = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.11.7"}, "source_url": "https://example.org/nb"}
    return {"cells": out, "metadata": metadata or meta, "nbformat": 4, "nbformat_minor": 5}


def _source(text: str, form: str):
    return text.splitlines(keepends=True) if form == "list" else text


def with_sources(data: dict, sources: dict[int, str], form: str) -> dict:
    data = copy.deepcopy(data)
    for number, text in sources.items():
        data["cells"][number - 1]["source"] = _source(text, form)
    return data


# How real writers lay out the JSON: (dump, source form).
STYLES = {
    "nbformat": (lambda nb: json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", "list"),
    "indent-2-ascii-no-final-newline": (lambda nb: json.dumps(nb, indent=2, ensure_ascii=True), "string"),
    "one-line": (lambda nb: json.dumps(nb, ensure_ascii=False), "list"),
    "crlf": (lambda nb: (json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n").replace("\n", "\r\n"), "list"),
    # Spacing and escapes no JSON library writes: kept as they are, outside the rewritten sources.
    "hand-edited": (lambda nb: json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False)
                    .replace('"nbformat": 4', '"nbformat" :  4').replace("https://", "https:\\/\\/"), "list"),
}


def write_notebook(path, data: dict, style: str = "nbformat") -> bytes:
    raw = STYLES[style][0](data).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    return raw


def assert_valid(raw: bytes) -> None:
    nbformat.validate(nbformat.from_dict(json.loads(raw)))


# --- checking -----------------------------------------------------------------------------------------------

def test_findings_name_the_cell_and_the_line_in_it(tmp_path):
    write_notebook(tmp_path / "train.ipynb", build())
    result = run(["train.ipynb"], tmp_path)
    assert result.returncode == 1, result.stderr.decode()
    assert result.stderr == b""
    lines = result.stdout.decode().splitlines()
    # Not the %%bash cell (not Python: it would be a syntax error), the %%writefile cell or the raw cell.
    assert lines == [
        f"train.ipynb:cell 5:3:5: GF101 [*] {GF101_MESSAGE}",
        ("train.ipynb:cell 6:2:5: GF501 [*] `require_grad` is not `requires_grad`: this sets a plain attribute "
        "and (un)freezes nothing"),
        "Found 2 findings. [*] 2 fixable with `--fix`.",
    ]


def test_json_and_markdown_give_the_cell(tmp_path):
    write_notebook(tmp_path / "train.ipynb", build())
    rows = json.loads(run(["--format", "json", "train.ipynb"], tmp_path).stdout)
    assert [(r["path"], r["cell"], r["line"], r["column"], r["end_line"], r["code"]) for r in rows] == [
        ("train.ipynb", 5, 3, 5, 3, "GF101"),
        ("train.ipynb", 6, 2, 5, 2, "GF501"),
    ]
    report = run(["--format", "markdown", "train.ipynb"], tmp_path).stdout.decode()
    assert "- [ ] cell 5 line 3: **GF101**" in report and "- [ ] cell 6 line 2: **GF501**" in report


def test_an_import_in_an_earlier_cell_counts_in_a_later_one(tmp_path):
    cells = [("code", "import torch as T\nmodel = T.nn.Linear(2, 2)", {}),
             ("code", "for p in model.parameters():\n    p.detach().zero_()", {})]
    path = tmp_path / "alias.ipynb"
    write_notebook(path, build(cells))
    assert run(["--fix", "alias.ipynb"], tmp_path).returncode == 0
    after = json.loads(path.read_bytes())
    # The fix uses the name cell 1 binds, and adds no `import torch` of its own to either cell.
    assert "".join(after["cells"][1]["source"]) == "for p in model.parameters():\n    with T.no_grad():\n        p.zero_()"
    assert "".join(after["cells"][0]["source"]) == cells[0][1]


def test_other_kernels_and_non_python_cells_are_not_checked(tmp_path):
    buggy = "for p in model.parameters():\n    p.detach().zero_()"
    write_notebook(tmp_path / "r.ipynb", build([("code", buggy, {})], metadata={
        "kernelspec": {"display_name": "R", "language": "R", "name": "ir"}, "language_info": {"name": "R"}}))
    write_notebook(tmp_path / "md.ipynb", build([("markdown", buggy, {}), ("code", "%%html\n<b>" + buggy + "</b>", {})]))
    result = run(["r.ipynb", "md.ipynb"], tmp_path)
    assert result.returncode == 0 and result.stdout == b"All checks passed!\n"


# --- fixing -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("style", sorted(STYLES))
def test_fix_rewrites_only_the_changed_sources_in_the_files_own_layout(tmp_path, style):
    dump, form = STYLES[style]
    original = build(form=form)
    path = tmp_path / "train.ipynb"
    before = write_notebook(path, original, style)
    result = run(["--fix", "train.ipynb"], tmp_path)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert b"Fixed 2 findings; all checks passed." in result.stdout
    after = path.read_bytes()
    # Byte for byte what the same writer makes of the fixed notebook: outputs, ids, execution counts,
    # attachments, metadata, key order, indentation, escapes and the final newline are untouched, and magics,
    # shell escapes and help lines in the fixed cell are exactly as they were.
    assert after == dump(with_sources(original, FIXED, form)).encode("utf-8")
    assert after != before
    assert_valid(after)
    again = run(["--fix", "train.ipynb"], tmp_path)
    assert again.returncode == 0 and again.stdout == b"All checks passed!\n"
    assert path.read_bytes() == after, "a second --fix changes nothing"


def test_diff_shows_each_changed_cell_and_is_not_a_patch(tmp_path):
    path = tmp_path / "train.ipynb"
    before = write_notebook(path, build())
    result = run(["--diff", "train.ipynb"], tmp_path)
    assert result.returncode == 1
    assert path.read_bytes() == before
    assert result.stdout.decode() == (
        "# train.ipynb: a diff of notebook cells, for reading (not a patch for `git apply`)\n"
        "--- train.ipynb:cell 5\n"
        "+++ train.ipynb:cell 5\n"
        "@@ -1,5 +1,6 @@\n"
        " !pip install -q torch\n"
        " for p in model.parameters():\n"
        "-    p.detach().zero_()\n"
        "+    with torch.no_grad():\n"
        "+        p.zero_()\n"
        " model?\n"
        " %time y = model(torch.ones(1, 4))\n"
        "--- train.ipynb:cell 6\n"
        "+++ train.ipynb:cell 6\n"
        "@@ -1,2 +1,2 @@\n"
        " for p in model.parameters():\n"
        "-    p.require_grad = False\n"
        "+    p.requires_grad = False\n"
    )
    assert result.stderr.decode() == "Would fix 2 findings in 1 file.\n"
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "cells.diff").write_bytes(result.stdout)
    applied = subprocess.run(["git", "apply", "--check", "cells.diff"], cwd=tmp_path, capture_output=True, check=False)
    assert applied.returncode != 0


def test_stdin_with_a_notebook_name(tmp_path):
    raw = STYLES["nbformat"][0](build())
    result = run(["--fix", "--stdin-filename", "train.ipynb", "-"], tmp_path, stdin=raw.encode())
    assert result.returncode == 0
    assert result.stdout.decode() == STYLES["nbformat"][0](with_sources(build(), FIXED, "list"))


BAD = {
    "invalid JSON": (b'{"cells": [', "not a valid notebook: invalid JSON at line 1 column 12: Expecting value"),
    "not an object": (b"[1, 2]\n", "not a Jupyter notebook: the JSON is not an object"),
    "nbformat 3": (
        b'{"metadata": {}, "nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": []}]}\n',
        ("nbformat 3 notebooks are not supported (only nbformat 4); upgrade it with "
        "`jupyter nbconvert --to notebook --inplace`"),
    ),
    "no cells": (b'{"metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n', "not a valid notebook: no `cells` list"),
    "bad source": (
        (b'{"cells": [{"cell_type": "code", "execution_count": null, "id": "a", "metadata": {}, "outputs": [], '
        b'"source": 42}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n'),
        "not a valid notebook: cell 1's `source` is neither a string nor a list of strings",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_notebook_is_one_error_line_and_nothing_is_written(tmp_path, case):
    raw, reason = BAD[case]
    (tmp_path / "bad.ipynb").write_bytes(raw)
    good = tmp_path / "good.ipynb"
    write_notebook(good, build())
    result = run(["--fix", "bad.ipynb", "good.ipynb"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode() == f"error: bad.ipynb: {reason}\n"
    assert (tmp_path / "bad.ipynb").read_bytes() == raw
    assert json.loads(good.read_bytes()) == with_sources(build(), FIXED, "list"), "the other notebook is still fixed"


def test_a_fix_that_would_cross_a_cell_boundary_is_refused():
    # No rule does this today; the split back into cells must refuse it rather than write a damaged notebook.
    text = json.dumps(build([("code", "import torch\nx = 1", {}), ("code", "%time y = 2\nz = 3", {})]))
    module = notebook.module_of(notebook.parse(text))
    assert module.text == "import torch\nx = 1\npass  # autofix-cell-boundary\npass  # autofix-magic-0\nz = 3\n"
    merged = module.text.replace("x = 1\npass  # autofix-cell-boundary", "if x:\n    pass  # autofix-cell-boundary")
    moved = module.text.replace("x = 1\n", "").replace("z = 3\n", "x = 1\nz = 3\n")
    lost = module.text.replace("pass  # autofix-magic-0\n", "")
    for fixed, reason in ((merged, "across a cell boundary"), (moved, "from cell 1 to cell 2"),
                          (lost, "removed or reordered IPython syntax in cell 2")):
        with pytest.raises(notebook.NotebookError, match=reason):
            module.fixed_notebook(fixed)


def test_masking_leaves_strings_and_brackets_alone():
    source = ('doc = """\n%not a magic\n!nor this\n"""\ncall(a,\n     b)\nfor i in range(2):\n'
              '    !echo {i}\nfiles = !ls\nout = %sx ls \\\n    -la\nlen?\n')
    text = json.dumps(build([("code", source, {})]))
    assert notebook.module_of(notebook.parse(text)).text == (
        'doc = """\n%not a magic\n!nor this\n"""\ncall(a,\n     b)\nfor i in range(2):\n'
        "    pass  # autofix-magic-0\npass  # autofix-magic-1\npass  # autofix-magic-2\npass  # autofix-magic-3\n"
        "pass  # autofix-magic-4\n"
    )


# --- discovery, executors, the cache, changed files, review ---------------------------------------------------

def test_folders_include_notebooks_under_the_same_exclusions(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("scratch/\n")
    for name in ("nb/a.ipynb", "nb/.ipynb_checkpoints/a-checkpoint.ipynb", "scratch/b.ipynb", "legacy/c.ipynb"):
        write_notebook(tmp_path / name, build())
    result = run([".", "--exclude", "legacy"], tmp_path)
    assert {line.split(":")[0] for line in result.stdout.decode().splitlines() if ": GF" in line} == {"./nb/a.ipynb"}


PY_MODULE = "import torch\nmodel = torch.nn.Linear(4, 2)\nfor p in model.parameters():\n    p.detach().zero_()\n"


def _relative_rows(stdout: bytes) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "filename"} for row in json.loads(stdout)]


def test_two_jobs_and_the_cache_give_the_serial_result(tmp_path):
    for name in ("serial", "parallel"):
        for index in range(10):  # 20 files: more than one batch
            write_notebook(tmp_path / name / f"n{index:02d}.ipynb", build(form="list" if index % 2 else "string"))
            (tmp_path / name / f"m{index:02d}.py").write_text(PY_MODULE)
    # Rows without `filename` (ruff's field: the absolute path, which differs between the two folders).
    outputs = {name: _relative_rows(run(["--jobs", jobs, "--no-cache", "--format", "json", "."], tmp_path / name).stdout)
               for name, jobs in (("serial", "1"), ("parallel", "2"))}
    assert outputs["serial"] == outputs["parallel"] and len(outputs["serial"]) == 30
    assert {row.get("cell") for row in outputs["serial"]} == {None, 5, 6}

    # The cache: filled by one run, then served (with the cells) to the next.
    assert _relative_rows(run(["--format", "json", "."], tmp_path / "serial").stdout) == outputs["serial"]
    _tamper(tmp_path / "serial")
    cached = _relative_rows(run(["--format", "json", "."], tmp_path / "serial").stdout)
    assert [{**row, "message": "FROM-CACHE"} for row in outputs["serial"]] == cached

    for name, jobs in (("serial", "1"), ("parallel", "2")):
        assert run(["--jobs", jobs, "--no-cache", "--fix", "."], tmp_path / name).returncode == 0
    for index in range(10):
        for file in (f"n{index:02d}.ipynb", f"m{index:02d}.py"):
            assert (tmp_path / "serial" / file).read_bytes() == (tmp_path / "parallel" / file).read_bytes()
    assert json.loads((tmp_path / "serial" / "n01.ipynb").read_bytes()) == with_sources(build(), FIXED, "list")


def test_the_cache_tells_a_notebook_from_a_python_file_with_the_same_bytes(tmp_path):
    raw = write_notebook(tmp_path / "train.ipynb", build())
    (tmp_path / "same.py").write_bytes(raw)  # notebook JSON happens to be a valid Python expression
    assert run(["same.py"], tmp_path).returncode == 0  # caches "no findings" for these bytes as Python
    result = run(["train.ipynb"], tmp_path)
    assert result.returncode == 1 and b"train.ipynb:cell 5:3:5: GF101" in result.stdout


def test_changed_since_takes_changed_notebooks_and_their_changed_cells(tmp_path):
    git(tmp_path, "init", "-q")
    write_notebook(tmp_path / "old.ipynb", build())
    touched = tmp_path / "touched.ipynb"
    write_notebook(touched, build())
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    edited = [*CELLS]
    edited[5] = ("code", CELLS[5][1] + "\n# a new comment", {})  # cell 6 changes; cell 5's old bug stays as it was
    write_notebook(touched, build(edited))
    write_notebook(tmp_path / "new.ipynb", build())
    files = run([".", "--changed-since", "HEAD"], tmp_path).stdout.decode()
    assert "old.ipynb" not in files
    assert "./touched.ipynb:cell 5:3:5" in files and "./touched.ipynb:cell 6:2:5" in files and "./new.ipynb:cell 5" in files
    lines = run([".", "--changed-since", "HEAD", "--changed-lines-only"], tmp_path).stdout.decode()
    assert "./touched.ipynb:cell 5" not in lines and "./touched.ipynb:cell 6:2:5" in lines
    assert "./new.ipynb:cell 5:3:5" in lines


def test_interactive_review_is_per_cell(tmp_path):
    path = tmp_path / "train.ipynb"
    write_notebook(path, build())
    code, output = _interact(tmp_path, ["--interactive", "train.ipynb"], [b"n", b"y"])
    assert b"--- train.ipynb:cell 5 (hunk 1 of 2)" in output and b"--- train.ipynb:cell 6 (hunk 2 of 2)" in output
    assert b"Applied 1 of 2 hunks in 1 file." in output
    assert code == 1
    after = path.read_bytes()
    assert after == STYLES["nbformat"][0](with_sources(build(), {6: FIXED[6]}, "list")).encode()
    assert_valid(after)


# --- the validation harness ----------------------------------------------------------------------------------

TRAINING = [
    ("code", ("%matplotlib inline\nimport torch\ntorch.manual_seed(0)\n"
             "model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 1))"), {}),
    ("markdown", "Freeze the first layer.", {}),
    ("code", "for p in model[0].parameters():\n    p.require_grad = False", {}),
    ("code", "!nvidia-smi -L\n", {}),
    ("code", ("params = [p for p in model.parameters() if p.requires_grad]\nopt = torch.optim.SGD(params, lr=0.1)\n"
             "x, y = torch.randn(8, 4), torch.randn(8, 1)\nfor step in range(5):\n    opt.zero_grad()\n"
             "    loss = ((model(x) - y) ** 2).mean()\n    loss.backward()\n    opt.step()"), {}),
]


def test_validate_runs_the_code_cells_as_a_script_before_and_after(tmp_path):
    pytest.importorskip("torch")
    cells = [cell for cell in TRAINING if not cell[1].startswith("!nvidia")]
    write_notebook(tmp_path / "fit.ipynb", build(cells))
    result = run(["validate", "--device", "cpu", "--max-steps", "3", "--json", "v.json", "fit.ipynb"], tmp_path)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert "fit.ipynb: running its code cells as a script, as written and with 1 fix (GF501)" in result.stdout.decode()
    outcome = json.loads((tmp_path / "v.json").read_text())["outcomes"][0]
    assert outcome["before"]["exception"] is None and outcome["after"]["exception"] is None
    # As written, the typo freezes nothing: the first layer trains. Fixed, it is frozen.
    assert outcome["before"]["params"]["Sequential.0.weight"]["moved"] > 0
    assert "Sequential.0.weight" not in outcome["after"]["params"]
    assert outcome["after"]["params"]["Sequential.1.weight"]["moved"] > 0


@pytest.mark.parametrize("cell, reason", [
    (("code", "!nvidia-smi -L", {}), "cell 4 uses `!nvidia-smi -L`, which only IPython can run"),
    (("code", "%%bash\nls", {}), "cell 4 is a %%bash cell, which only IPython can run"),
    (("code", "display(model)", {}), "cell 4 calls display(), which only a notebook front-end provides"),
])
def test_validate_says_why_cells_cannot_run_as_a_script(tmp_path, cell, reason):
    pytest.importorskip("torch")
    cells = [*TRAINING[:3], cell, TRAINING[4]]
    write_notebook(tmp_path / "fit.ipynb", build(cells))
    result = run(["validate", "--device", "cpu", "fit.ipynb"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode() == (
        f"error: fit.ipynb: cannot run its cells as a script: {reason}, so a script cannot stand in for the notebook\n"
    )


def test_a_cell_without_imports_means_the_usual_ones_unless_another_cell_binds_the_name(tmp_path):
    # A notebook pasted from a bug report: no import cell, so unbound `nn` and `F` are torch's.
    use = ("code", "class Head(nn.Module):\n    def forward(self, x):\n        return F.dropout(self.fc(x), 0.1)", {})
    write_notebook(tmp_path / "fragment.ipynb", build([use]))
    found = run(["--select", "GF605", "--output-format", "concise", "fragment.ipynb"], tmp_path)
    assert found.returncode == 1 and b"GF605" in found.stdout
    # Another cell binds `F` to something else: the binding wins, and `F.dropout` is not torch's.
    rebound = [("code", "F = make_functions()", {}), use]
    write_notebook(tmp_path / "bound.ipynb", build(rebound))
    quiet = run(["--select", "GF605", "--output-format", "concise", "bound.ipynb"], tmp_path)
    assert quiet.returncode == 0, quiet.stdout
