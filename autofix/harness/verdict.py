"""Verdicts: does the evidence from the two runs match the rule's declared effect?

repairing: the original is broken (it raised, a trainable parameter got no gradient, a parameter that got
one never moved, a forward() changed its input, torch warned about the order of calls, a gradient clip
measured gradients no step used or gradients still scaled by a GradScaler, a loss was given the output of
the activation it applies itself, nll_loss was given something other than log-probabilities, a view()/reshape()
gave a tensor the shape of its own transpose, a dropout dropped in eval() mode, a Dropout or BatchNorm layer ran in
training mode under no_grad (an evaluation pass without eval()), or a Dropout or BatchNorm layer that had
trained in training mode carried gradients in eval mode later) and the fixed one is healthy (no error, a
gradient reached every trainable parameter, each of them moved, the loss fell).
preserving: the two runs are identical (per-step losses and every parameter's final value; bitwise on CPU,
within a relative tolerance on CUDA).

Two definitions make these verdicts immune to float noise (docs/validation.md states them for users):

- A gradient *reached* a parameter when, at some backward call, its gradient's norm was above
  ROUNDING_LEVEL times the largest gradient norm of any parameter at that same call. A gradient that is
  zero by construction but computed through cancellation (the bias of a convolution that a BatchNorm
  follows) comes out as exactly 0 or as rounding residue (about 1e-8 of the others), depending on the
  machine's kernels: both count as "no gradient", so the classification cannot flip between machines.
- A parameter *moved* when its final value differs from its value at the first backward call, compared
  bitwise. It is judged only for parameters a gradient reached: whether an update made of rounding
  residue changes a value is itself rounding (Adam scales such residue up to a full step).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

CUDA_TOLERANCE = 1e-5  # relative, per loss value, under the determinism settings the probe applies
# float32 rounding residue of a zero-by-construction gradient sits near 1e-8 of the largest gradient; real
# gradients in the scenarios are above 1e-4 of it (tests/test_harness.py keeps both margins).
ROUNDING_LEVEL = 1e-6


@dataclass(frozen=True)
class Verdict:
    ok: bool
    label: str  # "repaired", "preserved", "mismatch"
    reasons: tuple[str, ...]


def largest_gradients(params: dict) -> dict[int, float]:
    """The largest gradient norm of any parameter at each backward call."""
    largest: dict[int, float] = {}
    for record in params.values():
        for call, norm in zip(record["grad_calls"], record["grad_norms"]):
            if math.isfinite(norm):
                largest[call] = max(largest.get(call, 0.0), norm)
    return largest


def gradient_ratio(record: dict, largest: dict[int, float]) -> float:
    """The parameter's best gradient relative to the largest one at the same backward call (0: none at all)."""
    ratios = [
        norm / largest[call] if largest.get(call) else 0.0
        for call, norm in zip(record["grad_calls"], record["grad_norms"])
        if math.isfinite(norm)
    ]
    return max(ratios, default=0.0)


def reached(run: dict) -> dict[str, bool]:
    """For each trainable parameter: did a gradient reach it (above rounding level)?"""
    params = run.get("params", {})
    largest = largest_gradients(params)
    return {name: gradient_ratio(record, largest) > ROUNDING_LEVEL for name, record in params.items()}


# Evidence of operations a program may also make on purpose (a reshape to a transposed shape in Transformer-XL's
# relative shift, nll_loss on a custom score): a count that the fix left as it was is the program's own choice,
# not evidence about the fix (`steady_evidence`).
_DELIBERATE = ("transposing_views", "not_log_probabilities")


def steady_evidence(before: dict, after: dict) -> frozenset[str]:
    """The counts of `_DELIBERATE` evidence that are the same in both runs: left out of both runs' problems."""
    return frozenset(key for key in _DELIBERATE if before.get(key, 0) == after.get(key, 0))


def problems(run: dict, steady: frozenset[str] = frozenset()) -> list[str]:
    """Why a run is broken (empty when it is healthy); `steady` names evidence to leave out (see
    `steady_evidence`)."""
    found = []
    if run.get("exception"):
        e = run["exception"]
        where = f" (line {e['line']})" if e.get("line") else ""
        if e.get("line") and e.get("cell"):  # a notebook's: the line within its cell
            where = f" (cell {e['cell']} line {e['line']})"
        message = e["message"] if len(e["message"]) <= 90 else e["message"][:87] + "..."
        found.append(f"raised {e['type']}: {message}{where}")
    trainable = run.get("params", {})
    if not trainable:
        found.append("no trainable parameter seen")
    got = reached(run)
    starved = [n for n, ok in got.items() if not ok]
    if starved:
        found.append(f"no gradient reached {len(starved)} of {len(trainable)} parameters ({_names(starved)})")
    bad = [n for n, p in trainable.items() if not p["finite"]]
    if bad:
        found.append(f"non-finite gradients in {_names(bad)}")
    fed = [n for n, ok in got.items() if ok]
    still = [n for n in fed if not trainable[n]["changed"]]
    if fed and len(still) == len(fed):
        found.append("no parameter moved")
    elif still:
        found.append(f"{len(still)} of {len(fed)} parameters with gradients never moved ({_names(still)})")
    losses = run.get("losses", [])
    if not run.get("exception") and len(losses) >= 2 and not losses[-1] < losses[0]:
        found.append(f"loss did not fall ({losses[0]:.4g} -> {losses[-1]:.4g})")
    if run.get("mutated_inputs"):
        found.append(f"a forward() changed its input tensor {run['mutated_inputs']} times")
    modes = run.get("modes") or {}
    if modes.get("eval_after_train"):
        found.append(f"{modes['eval_after_train']} of {modes['through_mode_layers']} backward passes went through "
                     "Dropout/BatchNorm layers in eval mode after they had trained in training mode")
    for warning in run.get("warnings", []):
        if "step()" in warning and "before" in warning:
            found.append(f"torch warned: {warning}")
    found.extend(_clipping_problems(run.get("clips", [])))
    for loss, count in sorted(run.get("double_activations", {}).items()):
        if count:
            found.append(f"{loss} was given {_ACTIVATION_OF[loss]} output {count}x (it applies that itself)")
    if run.get("not_log_probabilities") and "not_log_probabilities" not in steady:
        found.append(f"nll_loss was given rows that are not log-probabilities {run['not_log_probabilities']}x")
    if run.get("transposing_views") and "transposing_views" not in steady:
        found.append(f"view()/reshape() gave a tensor the shape of its own transpose {run['transposing_views']}x "
                     "(the elements stay in memory order: scrambled)")
    if run.get("no_grad_train_forwards"):
        found.append(f"{run['no_grad_train_forwards']} Dropout/BatchNorm forwards under no_grad ran in training mode "
                     "(an evaluation pass without eval())")
    if run.get("eval_dropouts"):
        found.append(f"dropout dropped activations in a module in eval() mode {run['eval_dropouts']}x")
    return found


_ACTIVATION_OF = {"cross_entropy": "softmax", "binary_cross_entropy_with_logits": "sigmoid"}


def _clipping_problems(clips: list[dict]) -> list[str]:
    """Clips whose gradients no step applied (`used` is False: a backward() came between, or none since the last
    step), and clips that measured gradients still multiplied by a GradScaler's scale."""
    found = []
    unused = [c for c in clips if c.get("used") is False]
    if unused:
        found.append(f"{len(unused)} of {len(clips)} gradient clips clipped gradients no step used")
    scaled = [c for c in clips if c.get("scale")]
    if scaled:
        found.append(f"{len(scaled)} of {len(clips)} gradient clips measured gradients still scaled by a GradScaler "
                     f"(x{scaled[0]['scale']:g})")
    return found


def _names(names: list[str]) -> str:
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")


def differences(before: dict, after: dict, device: str) -> list[str]:
    found = []
    if bool(before.get("exception")) != bool(after.get("exception")):
        found.append("one run raised and the other did not")
    lb, la = before.get("losses", []), after.get("losses", [])
    if len(lb) != len(la):
        found.append(f"{len(lb)} vs {len(la)} backward calls")
    elif device == "cuda":
        if any(not math.isclose(a, b, rel_tol=CUDA_TOLERANCE, abs_tol=1e-12) for a, b in zip(lb, la)):
            found.append(f"losses differ beyond relative tolerance {CUDA_TOLERANCE}")
    elif lb != la:
        found.append("per-step losses differ")
    pb, pa = before.get("params", {}), after.get("params", {})
    if pb.keys() != pa.keys():
        found.append("different parameters")
    elif device != "cuda":
        changed = [n for n in pb if pb[n]["fingerprint"] != pa[n]["fingerprint"]]
        if changed:
            found.append(f"final values differ: {_names(changed)}")
    return found


def judge(effect: str, before: dict, after: dict, changed_source: bool, device: str = "cpu") -> Verdict:
    if not changed_source:
        return Verdict(False, "mismatch", ("the codemods changed nothing in the program",))
    if effect == "preserving":
        diff = differences(before, after, device)
        return Verdict(not diff, "preserved" if not diff else "mismatch", tuple(diff))
    steady = steady_evidence(before, after)
    broken_before, broken_after = problems(before, steady), problems(after, steady)
    reasons = []
    if not broken_before:
        reasons.append("the original looks healthy: nothing to repair")
    reasons.extend(f"after the fix: {p}" for p in broken_after)
    ok = bool(broken_before) and not broken_after
    return Verdict(ok, "repaired" if ok else "mismatch", tuple(reasons))
