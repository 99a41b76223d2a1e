"""Turn `autofix validate --scenarios --json FILE` output into the Markdown table kept in docs/validation.md.

    autofix validate --scenarios --device cpu --json /tmp/v.json && python bench/validation_table.py /tmp/v.json
"""
import json
import sys

from autofix.harness.verdict import problems, reached


def main(path: str) -> None:
    data = json.load(open(path))
    env = data["environment"]
    print(f"Environment: {', '.join(f'{k}: {v}' for k, v in env.items())}\n")
    print("| rule | scenario | effect | before | after | verdict |")
    print("|---|---|---|---|---|---|")
    for row in data["outcomes"]:
        print(f"| {row['code']} {row['rule']} | {row['scenario']} | {row['effect']} | {describe(row['before'])} "
              f"| {describe(row['after'])} | {row['verdict']['label']} |")


def describe(run: dict) -> str:
    if run.get("exception"):
        return f"raised {run['exception']['type']}: {run['exception']['message'][:60]}"
    params = run.get("params", {})
    fed = reached(run)  # the verdict's definitions: above rounding level, and bitwise movement
    got = sum(fed.values())
    moved = sum(1 for name, p in params.items() if fed[name] and p["changed"])
    losses = run.get("losses", [])
    trend = f"loss {losses[0]:.4g} → {losses[-1]:.4g}" if len(losses) > 1 else "no loss"
    warned = "; warned" if any("before" in w and "step()" in w for w in run.get("warnings", [])) else ""
    mutated = f"; forward changed its input {run['mutated_inputs']}x" if run.get("mutated_inputs") else ""
    modes = run.get("modes") or {}
    eval_mode = (f"; {modes['eval_after_train']} of {modes['through_mode_layers']} passes in eval mode after training "
                 "mode" if modes.get("eval_after_train") else "")
    moves = f", {moved} of them moved" if got else ""
    # The training-quality evidence (clips, activations applied twice or of the wrong kind, views to a transposed
    # shape, tensors that got gradients and never moved, dropout in eval), in the verdict's words.
    quality = "".join(f"; {p}" for p in problems(run)
                      if "clip" in p or "was given" in p or "eval()" in p or "transpose" in p or "plain attribute" in p)
    return f"{got}/{len(params)} params got grads{moves}, {trend}{warned}{mutated}{eval_mode}{quality}"


if __name__ == "__main__":
    main(sys.argv[1])
