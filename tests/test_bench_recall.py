"""The recall bench: bench/candidates.py's textual net and bench/real_code.py's accounting, run as scripts."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TRAIN = textwrap.dedent("""\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 4)
            self.fc.weight.data.normal_(0.0, 0.02)

        def forward(self, x):
            x += 1
            return self.helper(self.fc(x))  # the output carries fc's graph, which the re-wrap below cuts

        def helper(self, h):
            h.mul_(2)
            return h


    def weights_init(m):
        if m.__class__.__name__.find("Linear") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)


    def sgd(model, lr):
        for p in model.parameters():
            p.grad.add_(p.data)
            p.requires_grad = True
            p.data = p.data.to(torch.float16)


    net = Net()
    net.apply(weights_init)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    leaf = torch.zeros(3, requires_grad=True)
    for step in range(3):
        loss = net(torch.randn(2, 3)).sum()
        loss = torch.tensor(loss.item(), requires_grad=True)
        opt.zero_grad()
        loss.backward()
        opt.step()


    class Box:
        def __init__(self):
            self.data = [0]


    box = Box()
    box.data[0] = 1
""")


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, check=False)


def net_lines(tree: Path) -> set[tuple[str, str, str]]:
    done = run("bench/candidates.py", str(tree))
    assert done.returncode == 0, done.stderr
    return {tuple(line.split("\t")[:3]) for line in done.stdout.splitlines()}


def test_the_net_finds_each_family_by_shape(tmp_path):
    (tmp_path / "train.py").write_text(TRAIN)
    found = net_lines(tmp_path)
    assert found == {
        ("train.py:9", "GF1", "data-inplace"),
        ("train.py:12", "GF3", "input-augassign"),
        ("train.py:16", "GF3", "input-inplace-method"),  # a method forward calls
        ("train.py:22", "GF1", "init-on-data"),
        ("train.py:29", "GF1", "data-assign"),
        ("train.py:38", "GF2", "rewrap-tensor"),
        ("train.py:40", "GF2", "backward"),
        ("train.py:40", "GF4", "backward"),
        ("train.py:50", "GF1", "data-setitem"),  # a list's `.data`: the reader judges it
    }
    # Not candidates: `grad.add_(p.data)` writes to the grad, `p.requires_grad = True` on a parameters() loop
    # variable unfreezes, `torch.zeros(3, requires_grad=True)` is a new leaf on purpose, `opt.zero_grad()`.


def test_gf4_candidates_carry_the_order_of_the_calls_around_backward(tmp_path):
    (tmp_path / "train.py").write_text(TRAIN)
    done = run("bench/candidates.py", str(tmp_path), "--family", "GF4")
    assert done.stdout.strip().endswith("[order: opt.zero_grad loss.backward opt.step]")


def test_a_notebook_candidate_is_named_by_cell_and_line_as_autofix_reports_it(tmp_path):
    cells = [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["import torch.nn as nn\n", "%matplotlib inline\n"]},
        {"cell_type": "markdown", "metadata": {}, "source": ["# init"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["lin = nn.Linear(3, 4)\n", "lin.weight.data.normal_(0, 1)\n"]},
    ]
    (tmp_path / "nb.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert net_lines(tmp_path) == {("nb.ipynb[cell 3]:2", "GF1", "data-inplace")}
    autofix = subprocess.run([sys.executable, "-m", "autofix", "--no-cache", "--format", "json", "nb.ipynb"],
                             cwd=tmp_path, capture_output=True, text=True, check=False)
    [finding] = json.loads(autofix.stdout)
    assert (finding["cell"], finding["line"]) == (3, 2)


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t"))


def test_real_code_accounts_reported_and_silent_candidates(tmp_path):
    tree = tmp_path / "mini"
    tree.mkdir()
    (tree / "train.py").write_text(TRAIN)
    triage = tmp_path / "triage.tsv"
    bench = ("bench/real_code.py", "--only", "mini", "--tree", f"mini={tree}", "--triage", str(triage))

    first = run(*bench, "--update")
    assert first.returncode == 1  # new findings and silent candidates must be read first
    rows = read_rows(triage)
    findings = {(r["line"], r["code"]) for r in rows if r["kind"] == "finding"}
    silent = {(r["line"], r["code"]) for r in rows if r["kind"] == "candidate"}
    assert ("9", "GF101") in findings and ("38", "GF202") in findings
    assert ("9", "GF1") not in silent and ("38", "GF2") not in silent  # reported: no row
    assert ("50", "GF1") in silent  # `box.data[0] = 1` on a list: never reported
    assert all(r["verdict"] == "untriaged" for r in rows)

    for row in rows:
        if row["kind"] == "finding":
            row["verdict"] = "true"
        elif row["line"] == "50":
            row["verdict"] = "correctly-silent"
        else:
            row.update(verdict="should-report", hidden_by="test shape")
    with triage.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    second = run(*bench)
    assert second.returncode == 0, second.stdout + second.stderr
    gf1 = next(line for line in second.stdout.splitlines() if line.startswith("| GF1 | **all**"))
    cells = [c.strip() for c in gf1.strip("|").split("|")]
    reported, should_report, recall = int(cells[5]), int(cells[6]), cells[10]
    assert should_report == sum(1 for r in rows if r["code"] == "GF1" and r["verdict"] == "should-report")
    assert int(cells[8]) == 1  # correctly-silent: the list
    assert recall == f"{reported / (reported + should_report):.0%}"
    assert "| GF1 | test shape |" in second.stdout


def test_rows_written_before_the_kind_column_read_as_findings(tmp_path):
    tree = tmp_path / "mini"
    tree.mkdir()
    (tree / "ok.py").write_text("x = 1\n")
    triage = tmp_path / "triage.tsv"
    triage.write_text("corpus\tpath\tline\tcode\ttier\tverdict\treason\n"
                      "other\tlib.py\t3\tGF101\tstable\ttrue\tkept: its tree is not run\n")
    done = run("bench/real_code.py", "--only", "mini", "--tree", f"mini={tree}", "--triage", str(triage), "--update")
    assert done.returncode == 0, done.stdout + done.stderr
    [row] = read_rows(triage)
    assert (row["corpus"], row["kind"], row["verdict"]) == ("other", "finding", "true")


def test_a_bad_tree_argument_is_one_clear_error(tmp_path):
    done = run("bench/real_code.py", "--tree", f"nowhere={tmp_path / 'missing'}")
    assert done.returncode == 2
    assert "is not a directory" in done.stderr.strip().splitlines()[-1]
