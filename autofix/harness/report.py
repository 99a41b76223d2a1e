"""The harness's output: a table in the terminal, JSON with every measurement, and loss/gradient plots."""
from __future__ import annotations

import json
import sys
from typing import IO

from autofix.harness.verdict import problems


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
    for name in sorted(set(before) | set(after)):
        b, a = before.get(name), after.get(name)
        table.add_row(
            name,
            "yes" if (a or b or {}).get("in_optimizer") else "no",
            _grads(b), _grads(a), _moved(b), _moved(a),
        )
    console.print(table)


def _grads(record) -> str:
    if record is None:
        return "-"
    if not record["arrivals"]:
        return "none"
    last = record["grad_norms"][-1]
    flag = "" if record["finite"] and record["nonzero"] else " (bad)"
    return f"{record['arrivals']}x, |g|={last:.3g}{flag}"


def _moved(record) -> str:
    return "-" if record is None else f"{record['moved']:.3g}"


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
        }
        for o in outcomes
    ]
    with open(path, "w") as handle:
        json.dump({"environment": environment, "outcomes": rows}, handle, indent=2)


def plot(path: str, outcomes) -> None:
    """One row per scenario: loss curves and per-step gradient norms, before versus after."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(outcomes), 2, figsize=(10, 2.6 * len(outcomes)), squeeze=False)
    for row, o in enumerate(outcomes):
        loss_axis, grad_axis = axes[row]
        for label, run, style in (("before", o.before, "--"), ("after", o.after, "-")):
            loss_axis.plot(run.get("losses", []), style, label=label)
            norms = [sum(p["grad_norms"][i] ** 2 for p in run.get("params", {}).values() if i < len(p["grad_norms"])) ** 0.5
                     for i in range(max((len(p["grad_norms"]) for p in run.get("params", {}).values()), default=0))]
            grad_axis.plot(norms, style, label=label)
        loss_axis.set_title(f"{o.case.code} {o.case.scenario}: loss", fontsize=9)
        grad_axis.set_title("global gradient norm per step", fontsize=9)
        loss_axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
