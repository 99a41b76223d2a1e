"""`autofix validate`: the command-line face of the harness."""
from __future__ import annotations

import argparse
import sys

from autofix import engine, render, source
from autofix.harness import report
from autofix.harness.run import run_cases, run_user_program, scenario_cases
from autofix.harness.verdict import problems
from autofix.registry import all_rules
from autofix.rule import Applicability


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="autofix validate",
        description="Train the original and the fixed program and show what each fix does to gradient flow.",
        epilog="Examples: `autofix validate --scenarios --device cpu`; "
        "`autofix validate train.py --max-steps 5 -- --epochs 1`",
    )
    p.add_argument("script", nargs="?", help="a training script to run as written and as fixed")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script (after --)")
    p.add_argument("--scenarios", nargs="*", metavar="RULES", help="run the built-in scenarios (of these rules)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--max-steps", type=int, default=5, help="optimizer steps per run (default 5)")
    p.add_argument("--unsafe-fixes", action="store_true", help="user programs: also apply unsafe fixes")
    p.add_argument("--jobs", type=int, default=2, help="scenarios run this many at a time (default 2)")
    p.add_argument("--json", metavar="FILE", help="write every measurement as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="plot loss curves and gradient norms (needs matplotlib)")
    return p


def environment(device: str) -> dict:
    import torch

    env = {"device": "cpu", "torch": torch.__version__}
    if device == "cuda":
        env["device"] = f"cuda ({torch.cuda.get_device_name(0)})"
        env["cuda"] = torch.version.cuda
        env["determinism"] = "deterministic algorithms, CUBLAS_WORKSPACE_CONFIG=:4096:8, cudnn deterministic, TF32 off"
    else:
        env["determinism"] = "torch.use_deterministic_algorithms(True), 1 thread"
    return env


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.args and args.args[0] == "--":
        args.args = args.args[1:]
    try:
        import torch
    except ImportError:
        render.stderr("error: autofix validate needs torch: pip install 'autofix[validate]'")
        return 2
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        render.stderr("error: --device cuda: torch sees no CUDA device")
        return 2
    env = environment(device)

    if args.scenarios is not None:
        if args.script:
            render.stderr("error: give either --scenarios or a script, not both")
            return 2
        return _scenarios(args, device, env)
    if not args.script:
        render.stderr("error: give a training script, or --scenarios (see `autofix validate --help`)")
        return 2
    return _user_program(args, device, env)


def _scenarios(args, device: str, env: dict) -> int:
    cases = scenario_cases(args.scenarios or None)
    if not cases:
        render.stderr(f"error: no scenario matches {' '.join(args.scenarios)}")
        return 2
    outcomes = _with_progress(cases, device, args)
    report.scenarios_table(outcomes, env)
    _outputs(args, outcomes, env)
    mismatches = [o for o in outcomes if not o.verdict.ok]
    print(f"{len(outcomes) - len(mismatches)} of {len(outcomes)} verdicts match the rules' declared effects.")
    return 1 if mismatches else 0


def _with_progress(cases, device, args):
    if not sys.stderr.isatty():
        return run_cases(cases, device, args.max_steps, args.jobs)
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("training before and after", total=len(cases))
        return run_cases(cases, device, args.max_steps, args.jobs, on_done=lambda _: progress.advance(task))


def _user_program(args, device: str, env: dict) -> int:
    path = args.script
    if path.endswith(".ipynb"):  # the notebook's code cells, run as a script
        from autofix.harness.notebook_run import run_notebook

        outcome = run_notebook(path, args.unsafe_fixes, device, args.max_steps, args.args)
        return outcome if isinstance(outcome, int) else _report_user_program(args, outcome, env)
    try:
        original = source.read(path)
    except source.SourceError as error:
        render.stderr(render.error_line(path, str(error)))
        return 2
    apply = frozenset({Applicability.SAFE, Applicability.UNSAFE} if args.unsafe_fixes else {Applicability.SAFE})
    try:
        result = engine.check(original.text, all_rules(), path=path, apply=apply)
    except engine.ParseFailure as failure:
        render.stderr(render.error_line(path, str(failure)))
        return 2
    if result.fixed_text is None:
        print(f"{path}: no fixes apply; nothing to compare.")
        return 0
    codes = sorted({f.code for f in result.fixed})
    print(f"{path}: running as written and with {len(result.fixed)} fix{'es' if len(result.fixed) != 1 else ''} ({', '.join(codes)}), "
          f"{args.max_steps} optimizer steps each ...", flush=True)
    outcome = run_user_program(path, result.fixed_text, device, args.max_steps, args.args)
    return _report_user_program(args, outcome, env)


def _report_user_program(args, outcome, env: dict) -> int:
    report.parameters_table(outcome, env)
    _outputs(args, [outcome], env)
    return 1 if problems(outcome.after) else 0


def _outputs(args, outcomes, env) -> None:
    if args.json:
        report.write_json(args.json, outcomes, env)
    if args.plot:
        try:
            report.plot(args.plot, outcomes)
        except ImportError:
            render.stderr("error: --plot needs matplotlib: pip install matplotlib")
