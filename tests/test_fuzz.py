"""Fuzzing (short, fixed-seed budget; bench/fuzz_long.py runs the long one): generated programs never crash the
engine, fixed output always parses, --fix is idempotent, files without findings are untouched, and fixes do not
reach outside the statements they fix."""
from __future__ import annotations

import hypothesmith
from hypothesis import HealthCheck, given, settings

from fuzzing import check_properties, torch_snippets

FAST = settings(max_examples=60, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


@FAST
@given(torch_snippets())
def test_pytorch_flavoured_programs(text):
    check_properties(text)


@settings(max_examples=25, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_arbitrary_valid_python(text):
    check_properties(text)


def test_the_properties_can_fail():
    """The checker itself is not a rubber stamp: a fix that is not idempotent would be caught."""
    import pytest

    import fuzzing

    class Flaky:
        fixed_text = "x = 1\n"
        fixed: list = []
        findings = [object()]
        internal_errors: list = []

    original = fuzzing.engine.check
    fuzzing.engine.check = lambda *a, **k: Flaky()
    try:
        with pytest.raises(AssertionError):
            check_properties("x = 0\n")
    finally:
        fuzzing.engine.check = original
