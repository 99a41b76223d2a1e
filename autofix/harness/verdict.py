"""Verdicts: does the evidence from the two runs match the rule's declared effect?

repairing: the original is broken (it raised, a trainable parameter got no gradient, no parameter moved,
a forward() changed its input, or torch warned about the order of calls) and the fixed one is healthy (no error, every trainable parameter
got finite non-zero gradients at every arrival and moved, and the loss fell).
preserving: the two runs are identical (per-step losses and every parameter's final value; bitwise on CPU,
within a relative tolerance on CUDA).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

CUDA_TOLERANCE = 1e-5  # relative, per loss value, under the determinism settings the probe applies


@dataclass(frozen=True)
class Verdict:
    ok: bool
    label: str  # "repaired", "preserved", "mismatch"
    reasons: tuple[str, ...]


def problems(run: dict) -> list[str]:
    """Why a run is broken (empty when it is healthy)."""
    found = []
    if run.get("exception"):
        e = run["exception"]
        where = f" (line {e['line']})" if e.get("line") else ""
        message = e["message"] if len(e["message"]) <= 90 else e["message"][:87] + "..."
        found.append(f"raised {e['type']}: {message}{where}")
    trainable = run.get("params", {})
    if not trainable:
        found.append("no trainable parameter seen")
    starved = [n for n, p in trainable.items() if p["arrivals"] == 0]
    if starved:
        found.append(f"no gradient reached {len(starved)} of {len(trainable)} parameters ({', '.join(starved[:3])})")
    bad = [n for n, p in trainable.items() if p["arrivals"] and not (p["finite"] and p["nonzero"])]
    if bad:
        found.append(f"non-finite or zero gradients in {', '.join(bad[:3])}")
    still = [n for n, p in trainable.items() if p["moved"] == 0]
    if trainable and len(still) == len(trainable):
        found.append("no parameter moved")
    elif still:
        found.append(f"{len(still)} parameters never moved ({', '.join(still[:3])})")
    losses = run.get("losses", [])
    if not run.get("exception") and len(losses) >= 2 and not losses[-1] < losses[0]:
        found.append(f"loss did not fall ({losses[0]:.4g} -> {losses[-1]:.4g})")
    if run.get("mutated_inputs"):
        found.append(f"a forward() changed its input tensor {run['mutated_inputs']} times")
    for warning in run.get("warnings", []):
        if "step()" in warning and "before" in warning:
            found.append(f"torch warned: {warning}")
    return found


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
            found.append(f"final values differ: {', '.join(changed[:3])}")
    return found


def judge(effect: str, before: dict, after: dict, changed_source: bool, device: str = "cpu") -> Verdict:
    if not changed_source:
        return Verdict(False, "mismatch", ("the codemods changed nothing in the program",))
    if effect == "preserving":
        diff = differences(before, after, device)
        return Verdict(not diff, "preserved" if not diff else "mismatch", tuple(diff))
    broken_before, broken_after = problems(before), problems(after)
    reasons = []
    if not broken_before:
        reasons.append("the original looks healthy: nothing to repair")
    reasons.extend(f"after the fix: {p}" for p in broken_after)
    ok = bool(broken_before) and not broken_after
    return Verdict(ok, "repaired" if ok else "mismatch", tuple(reasons))
