"""The `autofix` command line: ruff's conventions for flags, output and exit codes.

Exit codes: 0 clean (or everything fixed), 1 findings remain (or `--diff` has a diff), 2 any error.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

from autofix import __version__, executor, gitdiff, interrupts, notebook, output_formats, render, source
from autofix.cache import Cache
from autofix.config import ConfigError, Settings, check_selectors, find_config, load
from autofix.discovery import DiscoveryError, discover
from autofix.registry import all_rules, select_rules
from autofix.runner import FileOutcome, Job, applicable, check_text

SUBCOMMANDS = ("rules", "explain", "validate", "review", "server")
# ruff 0.17's twelve formats, then autofix's own: text (concise's older name) and markdown (a migration report).
FORMATS = ("concise", "full", "json", "json-lines", "junit", "grouped", "github", "gitlab", "pylint", "rdjson",
           "azure", "sarif", "text", "markdown")
SUGGESTING_FORMATS = ("rdjson", "sarif")  # fixes go out as suggestions, so they are computed (not written)


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {value!r}")
    return number


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


def check_parser(prog: str = "autofix") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Find and fix PyTorch code that silently breaks gradient flow.",
        epilog="`autofix check [PATHS]` is the same as `autofix [PATHS]`, as in ruff. "
        "Other commands: `autofix rules` lists the rules, `autofix explain CODE` documents one, "
        "`autofix validate` trains before and after a fix, `autofix review --base REV` reviews a pull request, "
        "`autofix server` is the language server for editors.",
    )
    parser.add_argument("paths", nargs="*", help="files or directories to check (default: .); - reads stdin")
    parser.add_argument("--fix", action="store_true", help="write safe fixes to the files")
    parser.add_argument("--unsafe-fixes", action="store_true", help="also apply fixes marked unsafe")
    parser.add_argument("--preview", action="store_true", help="also run preview rules (see `autofix rules`)")
    parser.add_argument("--diff", action="store_true", help="print the fixes as a unified diff; write nothing")
    parser.add_argument("--fix-only", action="store_true",
                        help="apply safe fixes, and report neither what remains nor exit 1 for it (implies --fix)")
    parser.add_argument("--show-fixes", action="store_true",
                        help="after fixing, list what was fixed per file and rule (ruff's `Fixed N findings:` listing)")
    parser.add_argument("--exit-zero", "-e", action="store_true", help="exit 0 even when findings remain (errors still exit 2)")
    parser.add_argument("--exit-non-zero-on-fix", action="store_true",
                        help="exit 1 when any file was fixed, even if no findings remain")
    parser.add_argument("--add-noqa", action="store_true",
                        help="add `# noqa: CODE` to every line with a finding (idempotent); report nothing else")
    parser.add_argument("--watch", "-w", action="store_true", help="check again whenever a checked file changes")
    parser.add_argument("--show-files", action="store_true", help="list the files that would be checked, and stop")
    parser.add_argument("--show-settings", action="store_true", help="print the resolved settings, and stop")
    parser.add_argument("--select", action="append", metavar="RULES", help="codes, prefixes or names (comma-separated)")
    parser.add_argument("--extend-select", action="append", metavar="RULES",
                        help="like --select, but adds to the rules already selected")
    parser.add_argument("--ignore", action="append", metavar="RULES", help="codes, prefixes or names to skip")
    parser.add_argument("--exclude", action="append", metavar="GLOB", help="skip paths matching GLOB")
    parser.add_argument("--extend-exclude", action="append", metavar="GLOB",
                        help="like --exclude (which adds to the configuration's excludes here too)")
    parser.add_argument(
        "--format", "--output-format", dest="format", choices=FORMATS, default=None,
        metavar="FORMAT",
        help="findings format, ruff's twelve: concise (one line per finding; the default when piped; also called "
        "text), full (code frames and each fix's diff; the default on a terminal), json, json-lines, junit, grouped, "
        "github, gitlab, pylint, rdjson, azure, sarif; and markdown, a migration report for a PR description",
    )
    parser.add_argument("--stdin-filename", metavar="NAME", help="read source from stdin, reporting it as NAME")
    parser.add_argument("--config", metavar="PATH",
                        help="an autofix.toml (top-level keys) or a pyproject.toml ([tool.autofix]) to use")
    parser.add_argument("--isolated", action="store_true", help="read no configuration file: the defaults and the flags")
    parser.add_argument("-o", "--output-file", metavar="PATH", help="write the report to PATH instead of stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary line, no progress bar")
    parser.add_argument("-s", "--silent", action="store_true",
                        help="print nothing but errors; the exit code still says whether findings remain")
    parser.add_argument("--statistics", action="store_true", help="a table per rule: files, findings, fixed, unfixable")
    parser.add_argument("--interactive", action="store_true", help="review each hunk of the fixes (y/n/a/q) before writing")
    scale = parser.add_argument_group("large trees")
    scale.add_argument("--jobs", "-j", type=_positive, metavar="N", help="worker processes (default: all cores)")
    scale.add_argument("--no-cache", action="store_true", help="do not read or write .autofix_cache/")
    scale.add_argument("--no-index", action="store_true",
                       help="check each file alone: do not look into the project's other files (the project index)")
    scale.add_argument("--no-respect-gitignore", action="store_true", help="also check files that .gitignore ignores")
    scale.add_argument("--changed-since", metavar="REV", help="only files changed since git revision REV (and untracked ones)")
    scale.add_argument("--changed-lines-only", action="store_true", help="with --changed-since: report findings on changed lines only")
    scale.add_argument("--executor", choices=("local", "ray"), default="local", help="where batches run (default local)")
    scale.add_argument("--ray-address", metavar="ADDRESS", help="Ray cluster to use (default: start a local Ray instance)")
    parser.add_argument("--version", action="version", version=f"autofix {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupts.terminated)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            return _subcommand(argv[0], argv[1:])
        if argv and argv[0] == "check":  # ruff's spelling; the bare form stays
            return _check(check_parser("autofix check").parse_args(argv[1:]))
        return _check(check_parser().parse_args(argv))
    except ConfigError as error:
        render.stderr(f"error: {error}")
        return 2
    except KeyboardInterrupt:
        render.stderr(interrupts.INTERRUPTED)
        return 130
    except BrokenPipeError:  # `autofix ... | head`: the reader left; not an error of ours
        sys.stderr.close()
        return 1


def _subcommand(name: str, argv: list[str]) -> int:
    if name == "validate":
        from autofix.harness.cli import (
            main as validate,  # imports torch only when asked to validate
        )

        return validate(argv)
    if name == "review":
        from autofix.review.cli import main as review

        return review(argv)
    if name == "server":
        from autofix.server import main as server  # imports pygls only when an editor starts the server

        return server(argv)
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
    if args.isolated and args.config:
        raise ConfigError("command line: --isolated reads no configuration; it cannot be combined with --config")
    config_path = Path(args.config) if args.config else (None if args.isolated else find_config(Path.cwd()))
    if args.config and not config_path.is_file():
        raise ConfigError(f"{args.config}: no such file")
    settings = load(config_path, given=bool(args.config))
    select, extend, ignore = _split(args.select), _split(args.extend_select), _split(args.ignore)
    check_selectors(select + extend + ignore, "command line")
    if select:
        settings.select = select
    settings.select += extend
    settings.ignore += ignore
    settings.exclude += _split(args.exclude) + _split(args.extend_exclude)
    settings.preview = settings.preview or getattr(args, "preview", False)
    return settings


def _check(args: argparse.Namespace) -> int:
    if args.interactive and args.diff:
        raise ConfigError("command line: --interactive writes what you accept; it cannot be combined with --diff")
    if args.show_fixes and args.diff:
        raise ConfigError("command line: --show-fixes lists what --fix wrote; it cannot be combined with --diff (as in ruff)")
    if args.add_noqa and (args.fix or args.diff or args.interactive):
        raise ConfigError("command line: --add-noqa adds comments instead of fixing; it cannot be combined with "
                          "--fix, --diff or --interactive (as in ruff)")
    if args.watch and (args.interactive or args.add_noqa or args.stdin_filename is not None or "-" in args.paths):
        raise ConfigError("command line: --watch re-checks files on disk; it cannot be combined with "
                          "--interactive, --add-noqa or stdin")
    if args.interactive or args.fix_only:
        args.fix = True
    if args.format is None:  # as ruff: code frames for a person at a terminal, one line each for a pipe
        args.format = "full" if sys.stdout.isatty() else "concise"
    if args.watch:
        from autofix import watch

        return watch.run(args.paths or ["."], lambda: _check_once(args))
    return _check_once(args)


def _check_once(args: argparse.Namespace) -> int:
    if args.silent or args.output_file:
        return _redirected(args)
    return _check_run(args)


def _redirected(args: argparse.Namespace) -> int:
    """The run with its report (stdout) going to --output-file, or nowhere with --silent (errors stay on stderr)."""
    try:
        target = open(os.devnull if args.silent else args.output_file, "w", encoding="utf-8", newline="")
    except OSError as error:
        raise ConfigError(f"{args.output_file}: cannot write: {error.strerror or error}") from None
    saved, sys.stdout = sys.stdout, target
    try:
        if args.silent:
            args.quiet = True
        return _check_run(args)
    finally:
        sys.stdout = saved
        target.close()


def _check_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.show_settings:
        render.settings(settings, args.paths or ["."], sys.stdout)
        return 0
    rules = select_rules(settings.select, settings.ignore, settings.preview)
    fixing = args.fix or args.diff
    suggesting = args.format in SUGGESTING_FORMATS or args.format in output_formats.WITH_EDITS
    job = Job(rules, settings, applicable(settings, fixing or args.format in SUGGESTING_FORMATS, args.unsafe_fixes),
              write=args.fix and not args.diff, use_index=not args.no_index,
              previews=(args.format == "full" or suggesting) and not fixing and not args.add_noqa)
    paths = args.paths or ["."]
    if args.stdin_filename is not None or paths == ["-"]:
        return _check_stdin(args, job)
    if "-" in paths:
        raise ConfigError("command line: '-' (stdin) cannot be combined with other paths")

    if args.changed_lines_only and not args.changed_since:
        raise ConfigError("command line: --changed-lines-only needs --changed-since REV")
    if args.interactive:
        from autofix.interactive import require_terminal

        require_terminal()  # refuses before any work when there is nobody to answer
    changed, lines = _changed(args)

    files: list[str] = []
    errors = 0
    for item in discover(paths, settings, respect_gitignore=not args.no_respect_gitignore):
        if isinstance(item, DiscoveryError):
            render.stderr(render.error_line(item.path, item.reason) if item.fatal else f"warning: {item.path}: {item.reason}")
            errors += item.fatal
        elif changed is None or os.path.realpath(item) in changed:
            files.append(item)
    if args.show_files:  # as ruff: absolute paths, sorted, one a line
        for path in sorted(os.path.abspath(f) for f in files):
            sys.stdout.write(path + "\n")
        return 2 if errors else 0
    if not files and not errors:
        render.stderr("warning: no Python files found under the given paths" if changed is None
                      else f"No Python files changed since {args.changed_since}.")

    # Interactive review decides per hunk what to write, so the workers only compute the fixes.
    cache = None if args.no_cache else Cache(
        settings.root, f"{sorted(a.value for a in job.apply)}|{settings.max_file_size}|index={not args.no_index}"
        + ("|previews" if job.previews else ""))
    if args.executor == "ray":
        try:
            pool = executor.RayExecutor(args.ray_address)
        except RuntimeError as error:
            raise ConfigError(f"command line: {error}") from None
    else:
        pool = executor.LocalExecutor(args.jobs or executor.default_jobs())
    # Without the cache, worker processes still share the project index's summaries through a folder that lives
    # as long as this run: a file one worker parsed is not parsed again by the others to summarise it.
    shared = None
    if cache is None and job.use_index and isinstance(pool, executor.LocalExecutor) and pool.jobs > 1:
        shared = tempfile.mkdtemp(prefix="autofix-summaries-")
    run_job = replace(job, write=job.write and not args.interactive,
                      summary_cache=str(cache.folder.parent) if cache is not None else shared)
    outcomes: list[FileOutcome] = []
    try:
        with render.progress(len(files), enabled=not args.quiet and len(files) > 1) as advance:
            for outcome in executor.run(files, run_job, pool, cache, on_done=advance):
                if lines is not None:
                    _keep_changed_lines(outcome, lines.get(os.path.realpath(outcome.path)))
                errors += _report_errors(outcome)
                outcomes.append(outcome)
    finally:
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)
    if args.interactive:
        from autofix.interactive import review

        return review(outcomes, job, errors)
    if args.add_noqa:
        return _add_noqa(outcomes, errors)
    return _finish(args, outcomes, job, errors)


def _add_noqa_to_cells(text: str, findings) -> tuple[str, int, int]:
    """--add-noqa in a notebook: each finding's line within its cell; the other cells' JSON stays as it was.
    A line IPython reads (`%magic`, `!shell`) is skipped: its comment would not reach the checked code."""
    from autofix import noqa

    book = notebook.parse(text)
    by_cell: dict[int, dict[int, set[str]]] = {}
    for finding in findings:
        by_cell.setdefault(finding.cell, {}).setdefault(finding.line, set()).add(finding.code)
    sources: dict[int, str] = {}
    added = skipped = 0
    for cell, codes in by_cell.items():
        if cell is None:
            continue
        original = book.source(cell - 1)
        lines = original.split("\n")
        magic = {n for n in codes if 0 < n <= len(lines) and lines[n - 1].lstrip().startswith(("%", "!"))}
        new, count, left = noqa.add(original, {n: c for n, c in codes.items() if n not in magic})
        added, skipped = added + count, skipped + left + len(magic)
        if count:
            sources[cell - 1] = new
    return (book.with_sources(sources) if sources else text), added, skipped


def _add_noqa(outcomes: list[FileOutcome], errors: int) -> int:
    """Write `# noqa: CODES` on each finding's line; as ruff: one stderr line saying how many, exit 0 (2 on errors)."""
    from autofix import noqa

    added = 0
    for outcome in sorted(outcomes, key=lambda o: o.path):
        if not outcome.findings or outcome.error:
            continue
        try:
            src = source.read(outcome.path)
            if notebook.is_notebook(outcome.path):
                text, count, skipped = _add_noqa_to_cells(src.text, outcome.findings)
            else:
                codes: dict[int, set[str]] = {}
                for finding in outcome.findings:
                    codes.setdefault(finding.line, set()).add(finding.code)
                text, count, skipped = noqa.add(src.text, codes)
            if count:
                source.write_atomic(outcome.path, src, text)
        except (source.SourceError, notebook.NotebookError) as error:
            render.stderr(render.error_line(outcome.path, f"not written: {error}"))
            errors += 1
            continue
        if skipped:
            render.stderr(f"warning: {outcome.path}: {skipped} line(s) end inside a multi-line string; no noqa added there")
        added += count
    if added:
        render.stderr(f"Added {added} noqa directive{'s' if added != 1 else ''}.")
    return 2 if errors else 0


def _changed(args: argparse.Namespace) -> tuple[set[str] | None, dict | None]:
    if not args.changed_since:
        return None, None
    try:
        changed = gitdiff.changed_files(args.changed_since)
        lines = gitdiff.changed_lines(args.changed_since) if args.changed_lines_only else None
    except gitdiff.GitError as error:
        raise ConfigError(f"--changed-since {args.changed_since}: {error}") from None
    return changed, lines


def _keep_changed_lines(outcome: FileOutcome, lines: set[int] | None) -> None:
    """Report only findings that touch a changed line (None: the whole file is new); in a notebook, a changed cell."""
    if lines is None:
        return
    if notebook.is_notebook(outcome.path) and outcome.findings:
        try:
            text = outcome.before if outcome.before is not None else source.read(outcome.path).text
            cells = notebook.cells_on_lines(text, lines)
        except (source.SourceError, notebook.NotebookError):
            cells = set()
        outcome.findings = [f for f in outcome.findings if f.cell in cells]
        return
    outcome.findings = [f for f in outcome.findings if lines.intersection(range(f.line, f.end_line + 1))]


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
        return _exit_code(args, errors, bool(outcome.findings), outcome.after is not None)
    return _finish(args, [outcome], job, errors)


def _shown_text(outcome: FileOutcome) -> str | None:
    """The text an outcome's findings are positioned in: the fixed text when there is one, else the file's."""
    if outcome.after is not None:
        return outcome.after
    if outcome.before is not None:
        return outcome.before
    try:
        return source.read(outcome.path).text  # the workers do not send texts back; few files have findings
    except source.SourceError:
        return None  # the frame shows the header alone


def _report_errors(outcome: FileOutcome) -> int:
    count = 0
    if outcome.error:
        render.stderr(render.error_line(outcome.path, outcome.error))
        count += 1
    for message in outcome.warnings:
        render.stderr(f"warning: {outcome.path}: {message}")
    for message in outcome.internal_errors:
        render.stderr(render.error_line(outcome.path, f"internal error: {message}; please report this autofix bug with the file"))
        count += 1
    return count


def _finish(args: argparse.Namespace, outcomes: list[FileOutcome], job: Job, errors: int) -> int:
    if args.diff:
        changed = 0
        for outcome in sorted(outcomes, key=lambda o: o.path):
            if outcome.after is not None:
                render.write_diff(render.patch(outcome), sys.stdout)
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
                render.stderr("No fixes to apply." + (f" {remaining} findings remain." if remaining else ""))
        return _exit_code(args, errors, bool(changed), False)
    remaining = any(o.findings for o in outcomes)
    fixed = args.fix and any(o.fixed for o in outcomes)
    # What a fix is offered at, for the [*] markers and the counts: the levels --fix would apply, with
    # --unsafe-fixes (or unsafe-fixes = true) the unsafe ones too, whether or not --fix was given.
    levels = job.apply or applicable(job.settings, True, args.unsafe_fixes)
    if args.fix_only:  # as ruff: what was fixed, never what remains
        if args.show_fixes:
            render.fixed_listing(outcomes, sys.stdout)
        if not args.quiet:
            render.fix_only_summary(outcomes, levels, sys.stdout)
        return _exit_code(args, errors, False, fixed)
    if args.statistics and args.format in ("json", "json-lines"):  # as ruff: the table's rows as JSON
        output_formats.statistics_json(render.rule_statistics(outcomes, levels), sys.stdout)
    elif args.statistics:  # as ruff: the table instead of the findings
        render.statistics(outcomes, levels, sys.stdout)
    elif args.format in SUGGESTING_FORMATS:
        from autofix.review.cli import check_output

        # The fixes were computed (not written) to become suggestions: what it reports is what remains.
        remaining = check_output(args.format, outcomes, job, args.fix, sys.stdout)
    elif args.format == "markdown":
        render.markdown_report(outcomes, levels, args.fix, sys.stdout, errors=errors)
    elif args.format in MACHINE_FORMATS:
        MACHINE_FORMATS[args.format](outcomes, sys.stdout)
    elif args.format == "grouped":
        output_formats.grouped(outcomes, lambda f: f.fix is not None and f.fix.applicability in levels, sys.stdout)
        render.summary(outcomes, levels, args.fix, sys.stdout, errors=errors, quiet=args.quiet)
    else:
        text_of = _shown_text if args.format == "full" else None
        render.text_report(outcomes, levels, args.fix, sys.stdout, summary=False, text_of=text_of)
        if args.show_fixes:
            render.fixed_listing(outcomes, sys.stdout)
        render.summary(outcomes, levels, args.fix, sys.stdout, errors=errors, quiet=args.quiet)
    return _exit_code(args, errors, remaining, fixed)


MACHINE_FORMATS = {
    "json": output_formats.json_report,
    "json-lines": output_formats.json_lines,
    "junit": output_formats.junit,
    "github": output_formats.github,
    "gitlab": output_formats.gitlab,
    "pylint": output_formats.pylint,
    "azure": output_formats.azure,
}


def _exit_code(args: argparse.Namespace, errors: int, findings: bool, fixed: bool) -> int:
    """ruff's: 2 on any error; else 0 with --exit-zero; else 1 when findings remain (a diff, with --diff), or when
    --exit-non-zero-on-fix and a file was fixed."""
    if errors:
        return 2
    if args.exit_zero:
        return 0
    return 1 if findings or (args.exit_non_zero_on_fix and fixed) else 0
