"""The harness's output: tables in the terminal and JSON with every measurement (plots: plot.py)."""
from __future__ import annotations

import json
import sys
from typing import IO

from autofix import render
from autofix.harness.verdict import ROUNDING_LEVEL, gradient_ratio, largest_gradients, problems


def _console(stream: IO[str]):
    from rich.console import Console

    tty = hasattr(stream, "isatty") and stream.isatty()
    # Piped: no colour, and wide enough that nothing is cut.
    return Console(file=stream, width=None if tty else 200, no_color=not tty, highlight=False)


def summary(run: dict) -> str:
    found = problems(run)
    losses = run.get("losses", [])
    trend = f"loss {losses[0]:.4g} -> {losses[-1]:.4g}" if len(losses) >= 2 else "no loss recorded"
    if run.get("exception"):
        return found[0]
    return ("healthy: " + trend) if not found else "; ".join(found[:2])


def scenarios_table(outcomes, environment: dict, stream: IO[str] = sys.stdout) -> None:
    from rich.table import Table

    table = Table(title=f"autofix validate: {environment_line(environment)}", show_lines=True)
    for column in ("rule", "scenario", "effect", "before", "after", "verdict"):
        table.add_column(column, overflow="fold")
    for o in outcomes:
        verdict = o.verdict.label if o.verdict.ok else f"MISMATCH: {'; '.join(o.verdict.reasons)}"
        table.add_row(
            f"{o.case.code} {o.case.rule}", o.case.scenario, o.case.effect, summary(o.before), summary(o.after),
            verdict,
        )
    _console(stream).print(table)


def parameters_table(outcome, environment: dict, stream: IO[str] = sys.stdout) -> None:
    """The side-by-side per-parameter table for a user program."""
    from rich.table import Table

    console = _console(stream)
    console.print(f"autofix validate {outcome.case.scenario}: {environment_line(environment)}")
    console.print(f"  before: {summary(outcome.before)}")
    console.print(f"  after:  {summary(outcome.after)}")
    table = Table(show_lines=False)
    for column in ("parameter", "in optimizer", "grads before", "grads after", "moved before", "moved after"):
        table.add_column(column, overflow="fold")
    before, after = outcome.before.get("params", {}), outcome.after.get("params", {})
    largest_before, largest_after = largest_gradients(before), largest_gradients(after)
    for name in sorted(set(before) | set(after)):
        b, a = before.get(name), after.get(name)
        table.add_row(
            name,
            "yes" if (a or b or {}).get("in_optimizer") else "no",
            _grads(b, largest_before), _grads(a, largest_after), _moved(b), _moved(a),
        )
    console.print(table)


def _grads(record, largest) -> str:
    if record is None:
        return "-"
    if not record["arrivals"]:
        return "none"
    count = f"{record['arrivals']}x"
    if not record["finite"]:
        return f"{count}, non-finite"
    ratio = gradient_ratio(record, largest)
    if ratio == 0:
        return f"{count}, all zero"
    if ratio <= ROUNDING_LEVEL:
        return f"{count}, rounding-level only"
    return f"{count}, |g|={record['grad_norms'][-1]:.3g}"


def _moved(record) -> str:
    if record is None:
        return "-"
    return f"{record['moved']:.3g}" if record["changed"] else "no"


def fixes_list(project, shown_root: str, stream: IO[str] = sys.stdout) -> None:
    """Each file of the project and each fix applied to it, as `path:line:col: CODE message`."""
    fixed = project.fixed
    count = sum(len(o.fixed) for o in fixed)
    stream.write(f"{shown_root}: {count} fix{'es' if count != 1 else ''} in {len(fixed)} of "
                 f"{len(project.outcomes)} Python files (applied to a temporary copy; your files are not written):\n")
    for outcome in sorted(fixed, key=lambda o: o.path):
        for finding in outcome.fixed:
            location, code, _, message = render.finding_line(outcome.path, finding, False)
            stream.write(f"  {location} {code} {message}\n")
    left = sum(len(o.findings) for o in project.outcomes)
    if left:
        stream.write(f"  ({left} other finding{'s' if left != 1 else ''} left unfixed; `autofix {shown_root}` lists them)\n")


def environment_line(environment: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in environment.items())


def write_json(path: str, outcomes, environment: dict) -> None:
    rows = [
        {
            "code": o.case.code,
            "rule": o.case.rule,
            "effect": o.case.effect,
            "scenario": o.case.scenario,
            "verdict": None if o.verdict is None else {"ok": o.verdict.ok, "label": o.verdict.label,
                                                       "reasons": list(o.verdict.reasons)},
            "before": o.before,
            "after": o.after,
            **o.extra,
        }
        for o in outcomes
    ]
    with open(path, "w") as handle:
        json.dump({"environment": environment, "outcomes": rows}, handle, indent=2)
