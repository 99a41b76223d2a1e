"""The validation harness: real codemods, real training in separate processes, verdicts checked."""
from __future__ import annotations

import json
import shutil

import pytest

from autofix.harness.run import case_for, run_case
from autofix.harness.verdict import judge
from autofix.registry import all_rules
from conftest import ROOT, run

pytest.importorskip("torch")

EXPECTED_LABEL = {"preserving": "preserved", "repairing": "repaired"}


def test_every_fixable_rule_ships_a_scenario():
    for rule in all_rules():
        if rule.fix_effect is not None:
            assert rule.scenarios, f"{rule.code} has a fix but no harness scenario"


def test_all_scenarios_on_cpu_match_each_rules_declared_effect(tmp_path):
    result = run(["validate", "--scenarios", "--device", "cpu", "--json", str(tmp_path / "v.json")], tmp_path)
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    data = json.loads((tmp_path / "v.json").read_text())
    assert data["environment"]["device"] == "cpu" and data["environment"]["torch"].startswith("2.")
    codes = {row["code"] for row in data["outcomes"]}
    assert codes == {r.code for r in all_rules() if r.scenarios}
    for row in data["outcomes"]:
        assert row["verdict"]["ok"], row["verdict"]
        assert row["verdict"]["label"] == EXPECTED_LABEL[row["effect"]], row["code"]
        if row["effect"] == "repairing":
            after = row["after"]
            assert after["exception"] is None
            if any(p["in_optimizer"] for p in after["params"].values()):
                assert after["steps"] >= 1
            else:  # a hand-written update (GF505): no optimizer steps to count, but several backward passes
                assert len(after["losses"]) >= 2
            assert all(p["moved"] > 0 and p["nonzero"] for p in row["after"]["params"].values())
        else:
            assert row["before"]["losses"] == row["after"]["losses"]
    assert f"{len(data['outcomes'])} of {len(data['outcomes'])} verdicts match" in out


def test_a_fix_that_changes_nothing_is_reported_as_a_mismatch():
    rule = next(r for r in all_rules() if r.code == "GF201")
    # The same bug in a shape the rule does not touch (the cut hides behind a helper), so the "fixed"
    # program is the original: the harness must say so, not call it repaired.
    source = rule.scenarios[0].source.replace(
        "loss = F.cross_entropy(logits.detach(), labels)",
        "loss = F.cross_entropy(cut(logits), labels)",
    ).replace("for step in range(10):", "def cut(t):\n    return t.detach()\n\n\nfor step in range(10):")
    case = case_for(rule, "hidden-cut", source)
    assert case.after == case.before
    outcome = run_case(case, "cpu", steps=3)
    assert not outcome.verdict.ok and outcome.verdict.label == "mismatch"
    assert outcome.before["exception"]["type"] == "RuntimeError"


def test_preserving_verdict_catches_a_numerical_difference():
    before = {"losses": [1.0, 0.5], "params": {"w": {"fingerprint": "a"}}, "exception": None}
    after = {"losses": [1.0, 0.5000001], "params": {"w": {"fingerprint": "a"}}, "exception": None}
    verdict = judge("preserving", before, after, changed_source=True)
    assert not verdict.ok and "per-step losses differ" in verdict.reasons
    assert judge("preserving", before, dict(before), changed_source=True).ok


def test_user_program_side_by_side_table(tmp_path):
    script = tmp_path / "train.py"
    shutil.copyfile(ROOT / "examples" / "detached_loss.py", script)
    original = script.read_bytes()
    result = run(["validate", "train.py", "--max-steps", "5", "--device", "cpu"], tmp_path)
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert script.read_bytes() == original, "the user's file is never touched"
    assert "running as written and with 1 fix (GF201)" in out
    assert "before: raised RuntimeError: element 0 of tensors does not require grad" in out
    assert "after:  healthy" in out
    for name in ("Sequential.0.weight", "Sequential.0.bias", "Sequential.2.weight", "Sequential.2.bias"):
        assert name in out
    rows = [line for line in out.splitlines() if "Sequential.0.weight" in line]
    assert "none" in rows[0] and "5x" in rows[0], "no gradient before, five after"
