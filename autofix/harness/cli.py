"""`autofix validate`: the command-line face of the harness."""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import sys

from autofix import render
from autofix.config import ConfigError
from autofix.harness import report
from autofix.harness.project import ProjectError, check_size, fix
from autofix.harness.run import run_cases, run_project, scenario_cases
from autofix.harness.verdict import problems, steady_evidence

USAGE = "autofix validate [OPTIONS] (SCRIPT | --scenarios [RULES ...]) [OPTIONS] [-- SCRIPT_ARGS ...]"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="autofix validate",
        usage=USAGE,
        description="Train the original and the fixed program and show what each fix does to gradient flow. "
        "autofix's options go anywhere before `--`; everything after `--` goes to the script.",
        epilog="Examples: `autofix validate --scenarios --device cpu`; "
        "`autofix validate train.py --max-steps 5 --json v.json -- --epochs 1`",
    )
    p.add_argument("script", nargs="?", help="a training script to run as written and as fixed")
    p.add_argument("--scenarios", nargs="*", metavar="RULES", help="run the built-in scenarios (of these rules)")
    p.add_argument("--project", metavar="DIR",
                   help="the project root to copy and fix (default: the script's folder); the script must be inside it")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--max-steps", type=int, default=5, help="optimizer steps per run (default 5)")
    p.add_argument("--unsafe-fixes", action="store_true", help="user programs: also apply unsafe fixes")
    p.add_argument("--jobs", type=int, default=2, help="scenarios run this many at a time (default 2)")
    p.add_argument("--json", metavar="FILE", help="write every measurement as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="plot loss and gradient norms per step, before and after")
    return p


def split_arguments(argv: list[str]) -> tuple[list[str], list[str]]:
    """autofix's own arguments, and the script's (everything after the first `--`)."""
    if "--" in argv:
        cut = argv.index("--")
        return argv[:cut], argv[cut + 1:]
    return argv, []


def main(argv: list[str]) -> int:
    own, script_args = split_arguments(argv)
    p = parser()
    args, unknown = p.parse_known_args(own)
    if unknown:
        p.error(f"unrecognized arguments: {' '.join(unknown)} (the script's own arguments go after --)")
    for option, value in (("--max-steps", args.max_steps), ("--jobs", args.jobs)):
        if value < 1:
            p.error(f"argument {option}: must be a positive whole number, not {value}")
    if args.scenarios is not None and (args.script or args.project):
        p.error("give either --scenarios or a script, not both")
    if args.scenarios is None and not args.script:
        p.error("give a training script, or --scenarios")
    if script_args and args.scenarios is not None:
        p.error("arguments after -- go to a script; --scenarios takes none")
    if importlib.util.find_spec("torch") is None:
        return _error("autofix validate needs torch: pip install 'autofix[validate]'")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        return _error("--plot needs matplotlib: pip install 'autofix[validate]'")
    if args.scenarios is not None:
        return _scenarios(args)
    return _user_program(args, script_args)


def _error(message: str) -> int:
    render.stderr(f"error: {message}")
    return 2


def _device(requested: str) -> tuple[str | None, dict]:
    """The device to run on and a description of it; None when the request cannot be met."""
    if requested == "cpu":
        version = importlib.metadata.version("torch")  # no need to import torch here: each run does
        return "cpu", {"device": "cpu", "torch": version, "determinism": "torch.use_deterministic_algorithms(True), 1 thread"}
    import torch

    if not torch.cuda.is_available():
        if requested == "cuda":
            render.stderr("error: --device cuda: torch sees no CUDA device")
            return None, {}
        return _device("cpu")
    return "cuda", {
        "device": f"cuda ({torch.cuda.get_device_name(0)})",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "determinism": "deterministic algorithms, CUBLAS_WORKSPACE_CONFIG=:4096:8, cudnn deterministic, TF32 off",
    }


def _scenarios(args) -> int:
    cases = scenario_cases(args.scenarios or None)
    if not cases:
        return _error(f"no scenario matches {' '.join(args.scenarios)}")
    device, env = _device(args.device)
    if device is None:
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


def _user_program(args, script_args: list[str]) -> int:
    script = args.script
    if script.endswith(".ipynb"):  # the notebook's code cells, run as a script
        return _notebook(args, script_args)
    if not os.path.isfile(script):
        return _error(f"{script}: {'no such file' if not os.path.exists(script) else 'not a file'}")
    root = os.path.abspath(args.project or os.path.dirname(os.path.abspath(script)))
    if not os.path.isdir(root):
        return _error(f"{args.project}: --project: not a directory")
    relative = os.path.relpath(os.path.abspath(script), root)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return _error(f"{script}: not inside the project folder {args.project}")
    try:
        check_size(root)
        project = fix(root, args.unsafe_fixes)
    except (ProjectError, ConfigError) as error:
        return _error(str(error))
    for warning in project.warnings:
        render.stderr(f"warning: {warning}")
    if any(o.path == relative and o.error for o in project.outcomes):
        return _error(f"{script}: cannot be checked (see the warning above)")
    if not project.fixed:
        print(f"{_shown(root)}: no fixes apply to {len(project.outcomes)} Python files; nothing to compare.")
        return 0
    report.fixes_list(project, _shown(root))
    device, env = _device(args.device)
    if device is None:
        return 2
    print(f"Running {relative} as written and as fixed, {args.max_steps} optimizer steps each ...", flush=True)
    try:
        outcome = run_project(project, script, device, args.max_steps, script_args)
    except ProjectError as error:
        return _error(str(error))
    report.parameters_table(outcome, env)
    _outputs(args, [outcome], env)
    return 1 if problems(outcome.after, steady_evidence(outcome.before, outcome.after)) else 0


def _shown(path: str) -> str:
    """A folder as the user would type it: relative to the current folder when inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative


def _notebook(args, script_args: list[str]) -> int:
    from autofix.harness.notebook_run import run_notebook

    device, env = _device(args.device)
    if device is None:
        return 2
    outcome = run_notebook(args.script, args.unsafe_fixes, device, args.max_steps, script_args)
    if isinstance(outcome, int):
        return outcome
    report.parameters_table(outcome, env)
    _outputs(args, [outcome], env)
    return 1 if problems(outcome.after, steady_evidence(outcome.before, outcome.after)) else 0


def _outputs(args, outcomes, env) -> None:
    if args.json:
        report.write_json(args.json, outcomes, env)
    if args.plot:
        from autofix.harness.plot import plot

        plot(args.plot, outcomes)
