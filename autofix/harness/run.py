"""Builds the before/after programs and runs each under the probe, in its own process."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from autofix import engine
from autofix.registry import all_rules
from autofix.rule import Applicability, Rule
from autofix.harness.verdict import Verdict, judge

EVERY_FIX = frozenset({Applicability.SAFE, Applicability.UNSAFE})
PROBE_TIMEOUT = 300


@dataclass
class Case:
    code: str
    rule: str
    effect: str
    scenario: str
    before: str
    after: str


@dataclass
class Outcome:
    case: Case
    before: dict
    after: dict
    verdict: Verdict | None = None
    extra: dict = field(default_factory=dict)


def scenario_cases(selectors: list[str] | None = None) -> list[Case]:
    """Every scenario of every selected rule, with its "after" made by the rule itself (never written by hand)."""
    cases = []
    for rule in all_rules():
        if selectors and not rule.matches(selectors):
            continue
        for scenario in rule.scenarios:
            cases.append(case_for(rule, scenario.name, scenario.source))
    return cases


def case_for(rule: type[Rule], name: str, source: str) -> Case:
    fixed = engine.check(source, (rule,), apply=EVERY_FIX).fixed_text
    effect = rule.fix_effect.value if rule.fix_effect else "none"
    return Case(rule.code, rule.name, effect, name, source, fixed if fixed is not None else source)


def probe(script: str, device: str, max_steps: int | None, extra_paths=(), args=(), cwd=None) -> dict:
    """Run `script` under the probe in a fresh interpreter and return its measurements."""
    with tempfile.TemporaryDirectory(prefix="autofix-probe-") as scratch:
        out = os.path.join(scratch, "result.json")
        command = [sys.executable, "-m", "autofix.harness.probe", "--out", out, "--device", device]
        if max_steps is not None:
            command += ["--max-steps", str(max_steps)]
        for path in extra_paths:
            command += ["--path", path]
        command += [script, *args]
        try:
            completed = subprocess.run(
                command, capture_output=True, text=True, timeout=PROBE_TIMEOUT, cwd=cwd, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            return {"exception": {"type": "Timeout", "message": f"over {PROBE_TIMEOUT} s", "line": None}}
        if not os.path.exists(out):
            tail = (completed.stderr or "").strip().splitlines()[-1:] or ["no output"]
            return {"exception": {"type": "ProbeFailure", "message": tail[0], "line": None}}
        with open(out) as handle:
            return json.load(handle)


def run_case(case: Case, device: str, steps: int) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="autofix-scenario-") as scratch:
        results = []
        for label, source in (("before", case.before), ("after", case.after)):
            folder = os.path.join(scratch, label)
            os.makedirs(folder)
            script = os.path.join(folder, f"{case.code.lower()}_{case.scenario}.py")
            with open(script, "w") as handle:
                handle.write(source)
            results.append(probe(script, device, steps, cwd=folder))
    before, after = results
    verdict = judge(case.effect, before, after, case.before != case.after, device)
    return Outcome(case, before, after, verdict)


def run_cases(cases: list[Case], device: str, steps: int, jobs: int = 2, on_done: Callable | None = None):
    """Run the cases, `jobs` probe pairs at a time (each probe is its own process); results in input order."""
    def one(case):
        outcome = run_case(case, device, steps)
        if on_done:
            on_done(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, cases))


def run_user_program(script: str, fixed_source: str, device: str, max_steps: int, args: list[str]) -> Outcome:
    """Run the user's script as written and a fixed copy (in a temporary folder; the user's files are untouched)."""
    script = os.path.abspath(script)
    with open(script, encoding="utf-8") as handle:
        original = handle.read()
    folder = os.path.dirname(script)
    with tempfile.TemporaryDirectory(prefix="autofix-validate-") as scratch:
        copy = os.path.join(scratch, os.path.basename(script))
        with open(copy, "w", encoding="utf-8") as handle:
            handle.write(fixed_source)
        shutil.copymode(script, copy)
        before = probe(script, device, max_steps, args=args, cwd=os.getcwd())
        after = probe(copy, device, max_steps, extra_paths=[folder], args=args, cwd=os.getcwd())
    case = Case("", "", "", os.path.basename(script), original, fixed_source)
    return Outcome(case, before, after)
