"""Runs the selected rules over one file's source and, when asked, applies their fixes to a fixpoint.

The pipeline is ruff's: CPython's `ast` parses every file (fast, and the best syntax errors); a file that
some rule's sound textual prefilter admits gets one semantic model, which every rule queries; findings
come out. LibCST, which renders fixes faithfully but costs ~13x a CPython parse, is parsed only for a file
that has a fix to apply, and each fix builder gets the LibCST node at its finding's range. It is imported only
then too (`autofix.lazy`): a process that renders no fix never loads it.
"""
from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autofix import fixes
from autofix.parsing import ParseFailure, parse_ast
from autofix.rule import (
    Applicability,
    FileContext,
    Finding,
    Rule,
    SuppressionIndex,
)
from autofix.semantic import SemanticModel
from autofix.semantic.index import ProjectIndex, Walked, module_name, take_parsed

__all__ = ["FileResult", "MAX_FILE_SIZE", "ParseFailure", "RuleCrash", "check", "find", "fix_each"]

# LibCST needs ~800 bytes of memory per byte of source and minutes for a 10 MB file: past this size a file
# that a rule could fire on is reported, not parsed (configurable as max-file-size).
MAX_FILE_SIZE = 1 << 20
fix_each = fixes.fix_each  # an editor's quick fixes (the server's entry point)


@dataclass
class FileResult:
    findings: list[Finding] = field(default_factory=list)  # what remains (after fixing, when fixing)
    fixed: list[Finding] = field(default_factory=list)  # findings whose fix was applied
    fixed_text: str | None = None  # the new source, or None when nothing changed
    internal_errors: list[str] = field(default_factory=list)  # fixes dropped, each naming the rule
    warnings: list[str] = field(default_factory=list)  # fixes not rendered, and why (not a bug: memory.refusal)
    # With check(alone=...): finding index -> the text that finding's own fix gives, applied by itself.
    alone: dict[int, str] = field(default_factory=dict)


class RuleCrash(Exception):
    """A rule raised while looking at a file: a bug in that rule, reported with its code."""


def find(tree: ast.Module, text: str, rules: tuple[type[Rule], ...], context: FileContext,
         crashes: list[str] | None = None, project: ProjectIndex | None = None) -> list[Finding]:
    """All findings of `rules` in the file, sorted by position. A crashing rule is skipped and named in `crashes`.

    With `project`, the model knows what the project's other files define."""
    where = _module_of(context.path) if project is not None else None
    return _run_rules(_model(tree, text, context.path, project, where), rules, context, crashes)


def _model(tree: ast.Module, text: str, path: str, project: ProjectIndex | None,
           where: tuple[str, Path, bool] | None) -> SemanticModel:
    module, _, is_package = where or (None, None, False)
    return SemanticModel(tree, text, path, module=module, is_package=is_package, project=project)


def _run_rules(model: SemanticModel, rules: tuple[type[Rule], ...], context: FileContext,
               crashes: list[str] | None) -> list[Finding]:
    findings: list[Finding] = []
    for rule in rules:
        instance = rule(context)
        instance.model = model
        try:
            instance.check(model)
        except RecursionError:
            raise
        except Exception as error:  # noqa: BLE001 - one rule's bug must not hide the others' findings
            message = f"{rule.code} crashed: {error.__class__.__name__}: {error}"
            if crashes is None:
                raise RuleCrash(message) from error
            crashes.append(message)
            continue
        findings.extend(instance.findings)
    findings.sort(key=lambda f: (f.line, f.column, f.code))
    return findings


def _module_of(path: str) -> tuple[str, Path, bool] | None:
    """(dotted module name, import root, is a package) of the file at `path`, or None."""
    try:
        return module_name(Path(path))
    except (OSError, ValueError):
        return None


def candidate_rules(text: str, rules: tuple[type[Rule], ...]) -> tuple[type[Rule], ...]:
    return tuple(rule for rule in rules if rule.prefilter.search(text))


def check(
    text: str,
    rules: tuple[type[Rule], ...],
    path: str = "<stdin>",
    apply: frozenset[Applicability] = frozenset(),
    max_size: int = MAX_FILE_SIZE,
    project: ProjectIndex | None = None,
    alone: frozenset[Applicability] = frozenset(),
    digest: str | None = None,
    alone_where: Callable[[Finding], bool] | None = None,
) -> FileResult:
    """Find (and with `apply`, fix) what `rules` report in `text`. Raises ParseFailure.

    `alone` (without `apply`): also render, for each finding whose fix is at one of these levels, the text its
    own fix gives applied by itself, in one pass (FileResult.alone): a preview of that fix, or a review
    suggestion that must not reach lines another finding's fix would join to it. `alone_where`: only for the findings
    it accepts (those whose preview or suggestion will be shown).

    `digest` (of the file's bytes, with `project`): the project index learns the file's summary from this check's
    tree, so that a file importing this one later does not read and compile it again.
    """
    active = candidate_rules(text, rules)
    if len(text) > max_size:
        if not active:
            return FileResult()  # too big to parse cheaply, and nothing could fire anyway
        raise ParseFailure(
            f"{len(text) / 2**20:.1f} MiB is over max-file-size ({max_size / 2**20:.1f} MiB), so it was not checked; "
            "raise max-file-size in [tool.autofix] to check it"
        )
    # CPython's parser, always: syntax errors are reported for every file, and it refuses nesting deep enough
    # to overflow LibCST's native parser (which would kill the whole process) with a clean RecursionError.
    tree = (project is not None and take_parsed(path, text)) or parse_ast(text)  # parsed already to summarise it?
    where = _module_of(path) if project is not None else None
    learn = where is not None and digest is not None
    if not active:
        if learn:
            project.learn(where, text, tree, None, digest)
        return FileResult()
    crashes: list[str] = []
    suppressed = SuppressionIndex(text)
    model = _model(tree, text, path, project, where)
    findings = _run_rules(model, active, FileContext(path, suppressed), crashes)
    if learn:
        project.learn(where, text, tree, Walked(model.nodes, model.parent), digest)
    if (alone or apply) and any(f.fix for f in findings):
        from autofix import memory

        too_big = memory.refusal(len(text))
        if too_big is not None:
            return FileResult(findings=findings, internal_errors=crashes, warnings=[too_big])
    if alone and not apply:
        shown, errors = fixes.each_alone(text, tree, suppressed, findings, path, alone, alone_where)
        return FileResult(findings=findings, internal_errors=list(dict.fromkeys(crashes + errors)), alone=shown)
    if not apply or not any(f.fix and f.fix.applicability in apply for f in findings):
        return FileResult(findings=findings, internal_errors=crashes)

    def find_again(syntax: ast.Module, new_text: str, new_suppressed: SuppressionIndex) -> list[Finding]:
        return find(syntax, new_text, active, FileContext(path, new_suppressed), [], project)

    done = fixes.fix_to_fixpoint(text, tree, suppressed, findings, path, apply, find_again)
    return FileResult(findings=done.findings, fixed=done.fixed, fixed_text=done.text,
                      internal_errors=crashes + done.errors)
