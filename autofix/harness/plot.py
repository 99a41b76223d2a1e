"""`--plot FILE.png`: per scenario (or script), the loss and the gradient norms per step, before and after.

One row per outcome: on the left the loss at each backward call, on the right the gradient norm of
each parameter group (a module's parameters together) at each backward call, on a log scale. Before is
dashed, after solid; a group's colour is the same in both. What a run never produced (it raised, no
gradient arrived) is written in the panel, since a missing line says nothing by itself.
"""
from __future__ import annotations

import math

from autofix.harness.report import summary

MAX_GROUPS = 6  # colours a reader can tell apart in one panel


def parameter_groups(names: list[str]) -> dict[str, list[str]]:
    """Parameters grouped by module: `MLP.hidden.weight` and `MLP.hidden.bias` make `MLP.hidden`.

    With more than MAX_GROUPS modules, by their parent modules instead, and so on up.
    """
    depth = max((name.count(".") for name in names), default=0)
    while True:
        groups: dict[str, list[str]] = {}
        for name in names:
            parts = name.split(".")
            groups.setdefault(".".join(parts[:max(1, min(depth, len(parts) - 1))]), []).append(name)
        if len(groups) <= MAX_GROUPS or depth <= 1:
            return groups
        depth -= 1


def group_norms(params: dict, members: list[str]) -> tuple[list[int], list[float]]:
    """The group's gradient norm (over all its members) at each backward call that reached any of them."""
    squares: dict[int, float] = {}
    for name in members:
        record = params[name]
        for call, norm in zip(record["grad_calls"], record["grad_norms"]):
            squares[call] = squares.get(call, 0.0) + norm * norm
    calls = sorted(squares)
    return calls, [math.sqrt(squares[c]) for c in calls]


def plot(path: str, outcomes) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(outcomes), 2, figsize=(13, 3.6 * len(outcomes)), squeeze=False,
                                gridspec_kw={"width_ratios": [1, 1.25]})
    for row, outcome in enumerate(outcomes):
        _loss_panel(axes[row][0], outcome)
        _gradient_panel(axes[row][1], outcome)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def _name(outcome) -> str:
    if outcome.case.code:
        verdict = outcome.verdict.label if outcome.verdict and outcome.verdict.ok else "MISMATCH"
        return f"{outcome.case.code} {outcome.case.scenario} ({outcome.case.effect}: {verdict})"
    return outcome.case.scenario


def _steps_axis(axis, ylabel: str) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_xlabel("backward call")
    axis.set_ylabel(ylabel)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.grid(alpha=0.3)


def _loss_panel(axis, outcome) -> None:
    lines = [_name(outcome)]
    for label, run, style in (("before", outcome.before, "--"), ("after", outcome.after, "-")):
        losses = run.get("losses", [])
        if losses:
            axis.plot(range(1, len(losses) + 1), losses, style, marker="o", markersize=3, label=label,
                      color="C3" if label == "before" else "C0")
        lines.append(_short(f"{label}: {summary(run)}"))
    axis.set_title("\n".join(lines), fontsize=9, loc="left")
    _steps_axis(axis, "loss")
    if axis.lines:
        axis.legend(fontsize=8, loc="upper right")


def _gradient_panel(axis, outcome) -> None:
    from matplotlib.lines import Line2D

    names = sorted(set(outcome.before.get("params", {})) | set(outcome.after.get("params", {})))
    groups = parameter_groups(names)
    colours = {group: f"C{index % 10}" for index, group in enumerate(groups)}
    lines = ["gradient norm per parameter group (dashed: before, solid: after)"]
    for label, run, style in (("before", outcome.before, "--"), ("after", outcome.after, "-")):
        params = run.get("params", {})
        silent = []
        for group, members in groups.items():
            present = [m for m in members if m in params]
            calls, norms = group_norms(params, present)
            shown = [(c, n) for c, n in zip(calls, norms) if n > 0 and math.isfinite(n)]
            if shown:
                axis.plot([c for c, _ in shown], [n for _, n in shown], style, color=colours[group],
                          marker="o", markersize=3)
            elif present:
                silent.append(group)
        if silent and len(silent) == len(groups):
            lines.append(f"{label}: no gradient reached any parameter")
        elif silent:
            lines.append(_short(f"{label}: no gradient in {', '.join(silent)}"))
        elif not params:
            lines.append(f"{label}: no trainable parameter seen")
    axis.set_title("\n".join(lines), fontsize=9, loc="left")
    _steps_axis(axis, "gradient norm")
    _gradient_scale(axis)
    handles = [Line2D([], [], color=colours[g], label=g) for g in groups]
    handles += [Line2D([], [], color="grey", linestyle="--", label="before"),
                Line2D([], [], color="grey", linestyle="-", label="after")]
    axis.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))


def _gradient_scale(axis) -> None:
    """Log scale when the norms span more than a decade; tick labels as plain numbers (0.3, not 3x10^-1)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    values = [v for line in axis.lines for v in line.get_ydata()]
    if not values or max(values) <= 10 * min(values):
        return
    axis.set_yscale("log")
    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.2g}"))
    if max(values) <= 100 * min(values):  # within two decades: label 2, 3 and 5 between the powers of ten
        axis.yaxis.set_minor_formatter(FuncFormatter(_between_decades))
    else:
        axis.yaxis.set_minor_formatter(NullFormatter())


def _between_decades(value: float, _) -> str:
    mantissa = value / 10 ** math.floor(math.log10(value))
    return f"{value:.2g}" if round(mantissa) in (2, 3, 5) else ""


def _short(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."
