"""Builds the before/after programs and runs each under the probe, in its own process."""
from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from autofix import engine
from autofix.registry import all_rules
from autofix.rule import Applicability, Rule
from autofix.harness.launch import run_probe as probe
from autofix.harness.project import FixedProject, copy
from autofix.harness.verdict import Verdict, judge

EVERY_FIX = frozenset({Applicability.SAFE, Applicability.UNSAFE})


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


def run_project(project: FixedProject, script: str, device: str, max_steps: int, args: list[str]) -> Outcome:
    """Run `script` (a path inside the project) in a copy of the project as written and in a fixed copy.

    Each copy runs from the counterpart of the current folder when that lies inside the project (so
    relative data paths resolve as they do for the user), from the script's folder otherwise. The copy's
    root is on the import path right after the script's folder, ahead of an editable install of the project.
    """
    relative = os.path.relpath(os.path.abspath(script), project.root)
    here = os.path.relpath(os.getcwd(), project.root)
    outside = here == os.pardir or here.startswith(os.pardir + os.sep)
    start = os.path.dirname(relative) if outside else here
    results = []
    with tempfile.TemporaryDirectory(prefix="autofix-validate-") as scratch:
        for label, fixed in (("before", False), ("after", True)):
            os.makedirs(os.path.join(scratch, label))
            root = copy(project, os.path.join(scratch, label), fixed)
            results.append(probe(os.path.join(root, relative), device, max_steps, extra_paths=[root], args=args,
                                 cwd=os.path.normpath(os.path.join(root, start))))
    before, after = results
    fixes = [{"path": o.path, "fixed": [f.to_dict() for f in o.fixed]} for o in project.fixed]
    return Outcome(Case("", "", "", relative, "", ""), before, after, extra={"fixes": fixes})
