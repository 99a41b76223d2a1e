"""The engine with toy rules: fixpoint, overlapping fixes, fixes that break the file, cheap prefilter."""
from __future__ import annotations

import ast
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

    def check(self, model):
        for call in model.nodes(ast.Call):
            if isinstance(call.func, ast.Name) and call.func.id == "foo":
                self.report(call, fix=Applicability.SAFE)

    def fix(self, finding, tree):
        node = tree.node_at(finding.range, cst.Call)
        return Fix((Edit(node, node.with_changes(func=cst.Name("bar"))),), Applicability.SAFE, Effect.PRESERVING)


class BreakEverything(Rule):
    """A broken rule: its fix renames `baz` to the keyword `return`, which no longer parses."""

    code = "T002"
    name = "break-everything"
    message = "broken"
    runtime = "n/a"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.PRESERVING
    prefilter = re.compile(r"\bbaz\b")

    def check(self, model):
        for name in model.nodes(ast.Name):
            if name.id == "baz":
                self.report(name, fix=Applicability.SAFE)

    def fix(self, finding, tree):
        node = tree.node_at(finding.range, cst.Name)
        return Fix((Edit(node, cst.Name("return")),), Applicability.SAFE, Effect.PRESERVING)


class Crash(Rule):
    """A rule with a bug: it raises on every call."""

    code = "T003"
    name = "crash"
    message = "never reported"
    runtime = "n/a"
    fix_applicability = Applicability.NONE
    fix_effect = None
    prefilter = re.compile(r"\(")

    def check(self, model):
        if model.nodes(ast.Call):
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


def test_findings_without_fixing_never_touch_libcst(monkeypatch):
    def fail(*_args, **_kwargs):
        raise AssertionError("LibCST parse called")

    monkeypatch.setattr(cst, "parse_module", fail)
    found = engine.check("x = foo(1)\n", (RenameFoo,)).findings
    assert [(f.code, f.line, f.column) for f in found] == [("T001", 1, 5)]


def test_libcst_is_parsed_once_per_fix_pass_and_only_with_fixes(monkeypatch):
    calls = []
    real = cst.parse_module
    monkeypatch.setattr(cst, "parse_module", lambda text, *a, **k: calls.append(text) or real(text, *a, **k))
    engine.check("x = foo(foo(1))\nbaz = 2\n", (RenameFoo,), apply=SAFE)
    assert len(calls) == 2, "one LibCST parse per pass that had fixes to build (the inner foo waits a pass)"
    calls.clear()
    engine.check("y = 1\n", (RenameFoo,), apply=SAFE)
    assert calls == []


def test_positions_count_characters_not_utf8_bytes():
    found = engine.check("s = 'é€'; foo(1)\n", (RenameFoo,)).findings
    assert [(f.line, f.column, f.end_column) for f in found] == [(1, 11, 17)]
    fixed = engine.check("s = 'é€'; foo(1)\n", (RenameFoo,), apply=SAFE).fixed_text
    assert fixed == "s = 'é€'; bar(1)\n"


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


def test_a_fix_is_never_built_on_a_node_that_lies_at_a_miscounted_position():
    # LibCST drops a first-line backslash continuation (its tree's code lacks that line) and so counts lines
    # differently from CPython: no fix is rendered from such a tree, and the finding stays reported.
    text = "\\\ny = foo(1)\nz = 2\n"
    result = engine.check(text, (RenameFoo,), apply=SAFE)
    assert result.fixed_text is None
    assert [(f.code, f.line) for f in result.findings] == [("T001", 2)]
    assert result.internal_errors == ["fixes not applied: LibCST does not reproduce this file exactly"]


def test_lines_are_counted_as_python_counts_them_past_a_form_feed():
    # str.splitlines() would split at the form feed and shift every later line by one.
    text = "x = 1\n\x0c\ny = foo(1)  # noqa: T001\nz = foo(2)\n"
    result = engine.check(text, (RenameFoo,), apply=SAFE)
    assert result.fixed_text == "x = 1\n\x0c\ny = foo(1)  # noqa: T001\nz = bar(2)\n"


def test_fix_tree_positions_and_parents_match_libcst_metadata():
    # FixTree computes both in one code-generation pass instead of LibCST's two providers: same answers.
    from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider

    from autofix.fixes import FixTree
    from autofix.rule import FileContext, SuppressionIndex

    text = (
        "import torch\n\n\nclass Net(torch.nn.Module):\n    # a comment\n    def forward(self, x):\n"
        "        if x.sum() > 0: x = (x + 1)\n        else:\n            x = [y for y in x]\n"
        "        return x.data.zero_()  # trailing\n"
    )
    module = cst.parse_module(text)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    parents, positions = wrapper.resolve(ParentNodeProvider), wrapper.resolve(PositionProvider)
    tree = FixTree(module, FileContext("t.py", SuppressionIndex(text)))
    assert len(positions) > 50
    assert all(tree.position(node) == where for node, where in positions.items())
    assert all(tree.parent(node) is parent for node, parent in parents.items())
    assert tree.parent(module) is None


def test_the_imports_a_fix_sees_include_every_statement_nesting():
    # The fix builders' import index walks statement lists only; each place an import can stand is covered.
    from codemods._torch import Imports

    text = (
        "import os\n"
        "try:\n    import torch\nexcept ImportError:\n    import numpy as np\nelse:\n    import a1\nfinally:\n"
        "    import a2\n"
        "if os:\n    from torch import nn\nelif os.sep:\n    import a3\nelif os.name:\n    import a4\nelse:\n"
        "    import a5\n"
        "with open('x') as handle:\n    import a6\n"
        "for _ in []:\n    import a7\nwhile False:\n    import a8\n"
        "match os:\n    case _:\n        import a9\n"
        "if True: import torch.nn.functional as F\n"
        "class C:\n    import a10\n"
        "def f():\n    from torch import no_grad as ng\n    def g():\n        import a11\n"
    )
    module = cst.parse_module(text)
    imports = Imports(module)
    assert imports.bindings[id(module)] == {
        "os": "os", "torch": "torch", "np": "numpy", "a1": "a1", "a2": "a2", "nn": "torch.nn", "a3": "a3",
        "a4": "a4", "a5": "a5", "a6": "a6", "a7": "a7", "a8": "a8", "a9": "a9", "F": "torch.nn.functional",
    }
    cls, function = module.body[-2], module.body[-1]
    assert imports.bindings[id(cls)] == {"a10": "a10"}
    assert imports.bindings[id(function)] == {"ng": "torch.no_grad"}
    assert imports.bindings[id(function.body.body[1])] == {"a11": "a11"}


TRICKY = (
    "# header comment\n"
    "import torch\n\n\n"
    "@decorator  # one\n"
    "# between decorators\n"
    "@other(\n    1,\n)\n"
    "class Net(torch.nn.Module):\n"
    "\t# tab-indented class body\n"
    "\tdef __init__(self): self.w = 1; self.b = 2\n\n"
    "\tasync def forward(self, x):\n"
    "\t\tif x:  # comment\n"
    "\t\t\tx = x + \\\n"
    "\t\t\t    1\n"
    "\t\ty = '''multi\nline'''; z = (\n\t\t\t3)\n"
    "\t\treturn [v for v in x]\n\n"
    "\tclass Inner:\n"
    "\t\tdef f(self):\n"
    "\t\t\treturn 1\n\n\n"
    "def g():\n"
    "    def h(): return 2\n"
    "    # trailing comment in a body\n"
    "    return h()\n"
)


def test_positions_of_one_statement_equal_those_of_the_whole_module():
    # FixTree computes positions only for the statement that holds the queried range, starting at the line and
    # indentation `ast` gives; every node it returns must be the one the whole-module pass returns.
    from autofix.fixes import FixTree
    from autofix.rule import FileContext, SuppressionIndex
    from autofix.semantic import Range

    module, syntax = cst.parse_module(TRICKY), ast.parse(TRICKY)
    context = FileContext("t.py", SuppressionIndex(TRICKY))
    whole = FixTree(module, context)
    queries = 0
    for node in ast.walk(syntax):
        if not isinstance(node, (ast.stmt, ast.expr)):
            continue
        where = Range(node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)
        partial = FixTree(module, context, syntax, TRICKY)
        found = partial.nodes_at(where)
        assert [id(n) for n in found] == [id(n) for n in whole.nodes_at(where)], (type(node).__name__, where)
        for n in found:
            assert partial.position(n) == whole.position(n)
            assert list(partial.ancestors(n)) == list(whole.ancestors(n))
        queries += bool(found)
        # Found from its own statement: falling back to the whole module would hide a miscounted start line.
        assert not partial._complete, (type(node).__name__, where)
    assert queries > 30
