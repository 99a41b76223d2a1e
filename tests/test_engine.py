"""The engine with toy rules: fixpoint, overlapping fixes, fixes that break the file, cheap prefilter."""
from __future__ import annotations

import re

import libcst as cst
import pytest

from autofix import engine
from autofix.rule import Applicability, Edit, Effect, Fix, Rule

SAFE = frozenset({Applicability.SAFE})


class RenameFoo(Rule):
    """Renames every call `foo(...)` to `bar(...)`."""

    code = "T001"
    name = "rename-foo"
    message = "foo is bar"
    runtime = "n/a"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.PRESERVING
    prefilter = re.compile(r"\bfoo\(")

    def visit_Call(self, node):
        if isinstance(node.func, cst.Name) and node.func.value == "foo":
            new = node.with_changes(func=cst.Name("bar"))
            self.report(node, fix=Fix((Edit(node, new),), Applicability.SAFE, Effect.PRESERVING))


class BreakEverything(Rule):
    """A broken rule: its fix renames `baz` to the keyword `return`, which no longer parses."""

    code = "T002"
    name = "break-everything"
    message = "broken"
    runtime = "n/a"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.PRESERVING
    prefilter = re.compile(r"\bbaz\b")

    def visit_Name(self, node):
        if node.value == "baz":
            self.report(node, fix=Fix((Edit(node, cst.Name("return")),), Applicability.SAFE, Effect.PRESERVING))


class Crash(Rule):
    """A rule with a bug: it raises on every call."""

    code = "T003"
    name = "crash"
    message = "never reported"
    runtime = "n/a"
    fix_applicability = Applicability.NONE
    fix_effect = None
    prefilter = re.compile(r"\(")

    def visit_Call(self, node):
        raise ZeroDivisionError("boom")


def test_nested_overlapping_fixes_reach_a_fixpoint():
    # foo(foo(1)): the outer and inner fixes overlap; the inner one waits for the second pass.
    result = engine.check("x = foo(foo(1))\n", (RenameFoo,), apply=SAFE)
    assert result.fixed_text == "x = bar(bar(1))\n"
    assert len(result.fixed) == 2 and result.findings == []
    assert engine.check(result.fixed_text, (RenameFoo,), apply=SAFE).fixed_text is None


def test_a_fix_that_does_not_parse_is_dropped_and_reported_others_still_apply():
    result = engine.check("baz = foo(1)\n", (RenameFoo, BreakEverything), apply=SAFE)
    assert result.fixed_text == "baz = bar(1)\n"
    assert result.internal_errors == ["T002: fix dropped because its result does not parse"]
    assert [f.code for f in result.findings] == ["T002"], "the unfixed finding remains"


def test_files_without_candidates_are_never_parsed_by_libcst(monkeypatch):
    def fail(*_args, **_kwargs):
        raise AssertionError("LibCST parse called")

    monkeypatch.setattr(cst, "parse_module", fail)
    assert engine.check("import torch\nx = torch.ones(3)\n", (RenameFoo,)).findings == []


def test_syntax_errors_are_reported_even_without_candidates():
    with pytest.raises(engine.ParseFailure, match=r"syntax error at 1:\d+"):
        engine.check("def f(:\n", (RenameFoo,))


def test_suppressed_finding_is_neither_reported_nor_fixed():
    result = engine.check("foo(1)  # noqa: T001\nfoo(2)\n", (RenameFoo,), apply=SAFE)
    assert result.fixed_text == "foo(1)  # noqa: T001\nbar(2)\n"


def test_a_crashing_rule_is_reported_and_the_others_still_run():
    result = engine.check("foo(1)\n", (Crash, RenameFoo), apply=SAFE)
    assert result.fixed_text == "bar(1)\n"
    assert result.internal_errors == ["T003 crashed: ZeroDivisionError: boom"]
