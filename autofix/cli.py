"""The `autofix` command line: ruff's conventions for flags, output and exit codes.

Exit codes: 0 clean (or everything fixed), 1 findings remain (or `--diff` has a diff), 2 any error.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autofix import __version__, render, source
from autofix.config import ConfigError, Settings, check_selectors, find_config, load
from autofix.diff import unified_diff
from autofix.discovery import DiscoveryError, discover
from autofix.registry import all_rules, select_rules
from autofix.runner import FileOutcome, Job, applicable, check_text, process_file

SUBCOMMANDS = ("rules", "explain", "validate")


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


def check_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autofix",
        description="Find and fix PyTorch code that silently breaks gradient flow.",
        epilog="Other commands: `autofix rules` lists the rules, `autofix explain CODE` documents one, "
        "`autofix validate` trains before and after a fix.",
    )
    parser.add_argument("paths", nargs="*", help="files or directories to check (default: .); - reads stdin")
    parser.add_argument("--fix", action="store_true", help="write safe fixes to the files")
    parser.add_argument("--unsafe-fixes", action="store_true", help="also apply fixes marked unsafe")
    parser.add_argument("--diff", action="store_true", help="print the fixes as a unified diff; write nothing")
    parser.add_argument("--select", action="append", metavar="RULES", help="codes, prefixes or names (comma-separated)")
    parser.add_argument("--ignore", action="append", metavar="RULES", help="codes, prefixes or names to skip")
    parser.add_argument("--exclude", action="append", metavar="GLOB", help="skip paths matching GLOB")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="findings format (default text)")
    parser.add_argument("--stdin-filename", metavar="NAME", help="read source from stdin, reporting it as NAME")
    parser.add_argument("--config", metavar="PATH", help="pyproject.toml to read [tool.autofix] from")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    parser.add_argument("--version", action="version", version=f"autofix {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            return _subcommand(argv[0], argv[1:])
        return _check(check_parser().parse_args(argv))
    except ConfigError as error:
        render.stderr(f"error: {error}")
        return 2
    except KeyboardInterrupt:
        render.stderr("interrupted")
        return 130
    except BrokenPipeError:  # `autofix ... | head`: the reader left; not an error of ours
        sys.stderr.close()
        return 1


def _subcommand(name: str, argv: list[str]) -> int:
    if name == "validate":
        from autofix.harness.cli import main as validate  # imports torch only when asked to validate

        return validate(argv)
    if name == "rules":
        argparse.ArgumentParser(prog="autofix rules", description="List the rules.").parse_args(argv)
        render.rules_table(all_rules(), sys.stdout)
        return 0
    parser = argparse.ArgumentParser(prog="autofix explain", description="Print a rule's documentation.")
    parser.add_argument("rule", help="a rule code (GF101) or name (detached-inplace-write)")
    args = parser.parse_args(argv)
    wanted = args.rule.strip()
    for rule in all_rules():
        if wanted.upper() == rule.code or wanted.lower() == rule.name:
            render.explain(rule, sys.stdout)
            return 0
    render.stderr(f"error: unknown rule '{wanted}' (see `autofix rules`)")
    return 2


def _settings(args: argparse.Namespace) -> Settings:
    config_path = Path(args.config) if args.config else find_config(Path.cwd())
    if args.config and not config_path.is_file():
        raise ConfigError(f"{args.config}: no such file")
    settings = load(config_path)
    select, ignore = _split(args.select), _split(args.ignore)
    check_selectors(select + ignore, "command line")
    if select:
        settings.select = select
    settings.ignore += ignore
    settings.exclude += _split(args.exclude)
    return settings


def _check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    rules = select_rules(settings.select, settings.ignore)
    fixing = args.fix or args.diff
    job = Job(rules, settings, applicable(settings, fixing, args.unsafe_fixes), write=args.fix and not args.diff)
    paths = args.paths or ["."]
    if args.stdin_filename is not None or paths == ["-"]:
        return _check_stdin(args, job)
    if "-" in paths:
        raise ConfigError("command line: '-' (stdin) cannot be combined with other paths")

    outcomes: list[FileOutcome] = []
    errors = 0
    for item in discover(paths, settings):
        if isinstance(item, DiscoveryError):
            render.stderr(render.error_line(item.path, item.reason))
            errors += 1
            continue
        outcome = process_file(item, job)
        errors += _report_errors(outcome)
        outcomes.append(outcome)
    if not outcomes and not errors:
        render.stderr("warning: no Python files found under the given paths")
    return _finish(args, outcomes, job, errors)


def _check_stdin(args: argparse.Namespace, job: Job) -> int:
    name = args.stdin_filename or "-"
    try:
        src = source.decode(sys.stdin.buffer.read())
    except source.SourceError as error:
        render.stderr(render.error_line(name, str(error)))
        return 2
    outcome = check_text(name, src.text, job, FileOutcome(name, bom=src.has_bom))
    errors = _report_errors(outcome)
    if args.fix and not args.diff:
        # Editors and pre-commit pipes read the fixed source on stdout; findings go to stderr.
        sys.stdout.buffer.write(src.encode(outcome.after if outcome.after is not None else src.text))
        sys.stdout.flush()
        if outcome.findings and not args.quiet:
            render.text_report([outcome], job.apply, True, sys.stderr, summary=False)
        return 2 if errors else (1 if outcome.findings else 0)
    return _finish(args, [outcome], job, errors)


def _report_errors(outcome: FileOutcome) -> int:
    count = 0
    if outcome.error:
        render.stderr(render.error_line(outcome.path, outcome.error))
        count += 1
    for message in outcome.internal_errors:
        render.stderr(render.error_line(outcome.path, f"internal error: {message}; please report this autofix bug with the file"))
        count += 1
    return count


def _finish(args: argparse.Namespace, outcomes: list[FileOutcome], job: Job, errors: int) -> int:
    if args.diff:
        changed = 0
        for outcome in sorted(outcomes, key=lambda o: o.path):
            if outcome.after is not None:
                patch = unified_diff(outcome.path, outcome.before, outcome.after, bom=outcome.bom)
                render.write_diff(patch, sys.stdout)
                changed += 1
        if not args.quiet:
            fixes = sum(len(o.fixed) for o in outcomes)
            remaining = sum(len(o.findings) for o in outcomes)
            if changed:
                render.stderr(
                    f"Would fix {fixes} finding{'s' if fixes != 1 else ''} in {changed} file{'s' if changed != 1 else ''}"
                    + (f"; {remaining} would remain." if remaining else ".")
                )
            else:
                render.stderr("No fixes to apply." + (f" {remaining} findings have no fix." if remaining else ""))
        return 2 if errors else (1 if changed else 0)
    if args.format == "json":
        render.json_report(outcomes, sys.stdout)
    else:
        render.text_report(outcomes, job.apply, args.fix, sys.stdout, summary=not args.quiet, errors=errors)
    remaining = any(o.findings for o in outcomes)
    return 2 if errors else (1 if remaining else 0)
