"""Every rule's own examples (Fixit style) are tests, and their before/after pairs are snapshots to review."""
from __future__ import annotations

import re

import pytest

from autofix import engine
from autofix.registry import all_rules
from autofix.rule import Applicability, Invalid, Valid
from conftest import SNAPSHOTS

SAFE = frozenset({Applicability.SAFE})
UNSAFE = frozenset({Applicability.SAFE, Applicability.UNSAFE})

CASES = [
    pytest.param(rule, index, example, id=f"{rule.code}-{index}")
    for rule in all_rules()
    for index, example in enumerate(rule.examples)
]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50] or "case"


def test_every_rule_has_valid_and_invalid_examples():
    for rule in all_rules():
        kinds = {type(e) for e in rule.examples}
        assert kinds == {Valid, Invalid}, f"{rule.code} needs both valid and invalid examples"
        assert rule.documentation().count("## ") >= 4, f"{rule.code} documentation is incomplete"
        assert "## Fix safety" in rule.documentation()


@pytest.mark.parametrize("rule, index, example", CASES)
def test_example(rule, index, example, snapshot):
    rules = (rule,)
    found = engine.check(example.code, rules).findings
    safe = engine.check(example.code, rules, apply=SAFE)
    unsafe = engine.check(example.code, rules, apply=UNSAFE)
    assert not safe.internal_errors and not unsafe.internal_errors
    if isinstance(example, Valid):
        assert found == [], f"must not fire: {example.reason}"
        after = example.code
    else:
        assert found, f"must fire: {example.reason}"
        assert {f.code for f in found} == {rule.code}
        assert (safe.fixed_text or example.code) == (example.after or example.code), example.reason
        if example.unsafe_after is not None:
            assert unsafe.fixed_text == example.unsafe_after
        after = unsafe.fixed_text or example.code
        # A fixed file is clean for the fixes that were applied, and fixing it again changes nothing.
        again = engine.check(after, rules, apply=UNSAFE)
        assert again.fixed_text is None
    snapshot.snapshot_dir = SNAPSHOTS / f"{rule.code}-{rule.name}"
    if isinstance(example, Valid):
        # Left alone: one file, the code that must not change (the assertions above prove it did not).
        snapshot.assert_match(example.code.encode(), f"{index:02d}-valid-{_slug(example.reason)}.unchanged.py")
        return
    name = f"{index:02d}-invalid-{_slug(example.reason)}"
    snapshot.assert_match(example.code.encode(), f"{name}.before.py")
    snapshot.assert_match(after.encode(), f"{name}.after.py")


def test_readme_lists_every_rule_with_its_declared_fix_and_effect():
    readme = (SNAPSHOTS.parent / "README.md").read_text()
    for rule in all_rules():
        row = next((line for line in readme.splitlines() if line.startswith(f"| {rule.code} | {rule.name} |")), None)
        assert row is not None, f"README rules table is missing {rule.code}"
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[2] == ("preview" if rule.preview else "stable"), row
        assert cells[3].startswith(rule.fix_applicability.value), row
        assert cells[4] == (rule.fix_effect.value if rule.fix_effect else "-"), row
