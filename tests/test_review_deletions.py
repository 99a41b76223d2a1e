"""A pull request that adds a line whose fix only deletes it (GF202: the loss re-wrapped into a new leaf after it was
computed) gets a suggestion on exactly that line, an empty one, and rdjson and SARIF list every finding on the
lines the pull request changed, with or without a suggestion. Through the installed CLI on a real git repository."""
from __future__ import annotations

import json
import re

from conftest import run
from test_review import SUGGESTION, make_repo

BASE = """\
import torch


def train(model, opt, x, y):
    opt.zero_grad()
    loss = (model(x) - y).pow(2).mean()
    loss.backward()
    opt.step()
"""
REWRAP = "    loss = torch.tensor(loss.item(), requires_grad=True)\n"
HEAD = BASE.replace("    loss.backward()\n", REWRAP + "    loss.backward()\n")
# A second file: its added line has a finding without a fix (a layer built in forward), next to one that has one.
LAYER_BASE = "import torch\nfrom torch import nn\n\n\nclass Net(nn.Module):\n    def forward(self, x):\n        return x\n"
LAYER_HEAD = LAYER_BASE.replace("        return x\n", "        proj = nn.Linear(x.shape[-1], 8)\n        return proj(x)\n")


def test_a_pure_deletion_gets_an_empty_suggestion_on_the_added_line(tmp_path):
    root = make_repo(tmp_path / "repo", {"train.py": BASE}, {"train.py": HEAD})
    result = run(["review", "--base", "main"], root)
    assert result.returncode == 1, result.stderr.decode()
    payload = json.loads(result.stdout)
    [comment] = payload["comments"]
    assert comment["path"] == "train.py"
    assert (comment["line"], comment.get("start_line")) == (7, None)  # the added line alone, no neighbour
    assert "**GF202**" in comment["body"]
    block = SUGGESTION.search(comment["body"])
    assert block is not None and block.group(2) == ""  # an empty suggestion deletes the line
    assert "does not add or change" not in payload["body"]
    # Committing the suggestion gives what `autofix --fix` writes.
    lines = HEAD.splitlines(keepends=True)
    del lines[comment["line"] - 1]
    (tmp_path / "fixed.py").write_text(HEAD)
    run(["fixed.py", "--fix"], tmp_path)
    assert "".join(lines) == (tmp_path / "fixed.py").read_text() == BASE


def test_rdjson_and_sarif_list_every_finding_on_changed_lines(tmp_path):
    root = make_repo(tmp_path / "repo", {"train.py": BASE, "net.py": LAYER_BASE},
                     {"train.py": HEAD, "net.py": LAYER_HEAD})
    rdjson = json.loads(run(["review", "--base", "main", "--format", "rdjson"], root).stdout)
    found = sorted((d["location"]["path"], d["code"]["value"], "suggestions" in d) for d in rdjson["diagnostics"])
    assert found == [("net.py", "GF504", False), ("train.py", "GF202", True)]
    deletion = next(d for d in rdjson["diagnostics"] if d["code"]["value"] == "GF202")
    assert deletion["suggestions"] == [{"range": {"start": {"line": 7, "column": 1}, "end": {"line": 8, "column": 1}},
                                        "text": ""}]
    sarif = json.loads(run(["review", "--base", "main", "--format", "sarif"], root).stdout)
    results = sarif["runs"][0]["results"]
    assert sorted((r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["ruleId"], "fixes" in r)
                  for r in results) == [("net.py", "GF504", False), ("train.py", "GF202", True)]
    [fix] = next(r for r in results if r["ruleId"] == "GF202")["fixes"]
    [replacement] = fix["artifactChanges"][0]["replacements"]
    assert replacement["deletedRegion"] == {"startLine": 7, "startColumn": 1, "endLine": 8, "endColumn": 1}
    assert replacement["insertedContent"] == {"text": ""}
    assert re.fullmatch(r"GF\d+", results[0]["ruleId"])


def test_the_base_revisions_autofix_toml_configures_the_review(tmp_path):
    root = make_repo(tmp_path / "repo", {"train.py": BASE, "autofix.toml": 'ignore = ["GF202"]\n'},
                     {"train.py": HEAD, "autofix.toml": 'ignore = ["GF1"]\n'})
    result = run(["review", "--base", "main"], root)
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout)["comments"] == []
