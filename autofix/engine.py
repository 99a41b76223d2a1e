"""Runs the selected rules over one file's source and, when asked, applies their fixes to a fixpoint.

The pipeline is ruff's: CPython's `ast` parses every file (fast, and the best syntax errors); a file that
some rule's sound textual prefilter admits gets one semantic model, which every rule queries; findings
come out. LibCST, which renders fixes faithfully but costs ~13x a CPython parse, is parsed only for a file
that has a fix to apply, and each fix builder gets the LibCST node at its finding's range. It is imported only
then too (`autofix.lazy`): a process that renders no fix never loads it.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from autofix.lazy import libcst as cst
from autofix.rule import (
    Applicability,
    FileContext,
    Finding,
    Fix,
    FixTree,
    Rule,
    SuppressionIndex,
)
from autofix.semantic import SemanticModel
from autofix.semantic.index import ProjectIndex, module_name

# LibCST needs ~800 bytes of memory per byte of source and minutes for a 10 MB file: past this size a file
# that a rule could fire on is reported, not parsed (configurable as max-file-size).
MAX_FILE_SIZE = 1 << 20
MAX_PASSES = 8  # a fix that is still producing changes after this many passes is a bug in a rule


class ParseFailure(Exception):
    """The file is not valid Python; the message is one line with the position and the reason."""


@dataclass
class FileResult:
    findings: list[Finding] = field(default_factory=list)  # what remains (after fixing, when fixing)
    fixed: list[Finding] = field(default_factory=list)  # findings whose fix was applied
    fixed_text: str | None = None  # the new source, or None when nothing changed
    internal_errors: list[str] = field(default_factory=list)  # fixes dropped, each naming the rule
    warnings: list[str] = field(default_factory=list)  # fixes not rendered, and why (not a bug: memory.refusal)
    # With check(alone=...): finding index -> the text that finding's own fix gives, applied by itself.
    alone: dict[int, str] = field(default_factory=dict)


def parse(text: str) -> "cst.Module":
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        parse_ast(text)  # CPython's message names the problem better, when it sees one
        raise ParseFailure(f"syntax error at {error.raw_line}:{error.raw_column + 1} (LibCST cannot parse it)") from None
    except RecursionError:
        raise ParseFailure("too deeply nested to parse") from None


def parse_ast(text: str) -> ast.Module:
    """CPython's tree of `text`, or ParseFailure with a one-line reason."""
    try:
        return ast.parse(text)
    except SyntaxError as error:
        raise ParseFailure(f"syntax error at {error.lineno}:{error.offset}: {error.msg}") from None
    except RecursionError:
        raise ParseFailure("too deeply nested to parse (Python's own parser gives up too)") from None
    except (ValueError, MemoryError) as error:
        raise ParseFailure(f"cannot parse: {error.__class__.__name__}") from None


class RuleCrash(Exception):
    """A rule raised while looking at a file: a bug in that rule, reported with its code."""


def find(tree: ast.Module, text: str, rules: tuple[type[Rule], ...], context: FileContext,
         crashes: list[str] | None = None, project: ProjectIndex | None = None) -> list[Finding]:
    """All findings of `rules` in the file, sorted by position. A crashing rule is skipped and named in `crashes`.

    With `project`, the model knows what the project's other files define."""
    module, is_package = _module_of(context.path) if project is not None else (None, False)
    model = SemanticModel(tree, text, context.path, module=module, is_package=is_package, project=project)
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


def _module_of(path: str) -> tuple[str | None, bool]:
    try:
        module, _, is_package = module_name(Path(path))
    except (OSError, ValueError):
        return None, False
    return module, is_package


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
) -> FileResult:
    """Find (and with `apply`, fix) what `rules` report in `text`. Raises ParseFailure.

    `alone` (without `apply`): also render, for each finding whose fix is at one of these levels, the text its
    own fix gives applied by itself, in one pass (FileResult.alone): a preview of that fix, or a review
    suggestion that must not reach lines another finding's fix would join to it.
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
    tree = parse_ast(text)
    if not active:
        return FileResult()
    crashes: list[str] = []
    findings = find(tree, text, active, FileContext(path, SuppressionIndex(text)), crashes, project)
    if (alone or apply) and any(f.fix for f in findings):
        from autofix import memory

        too_big = memory.refusal(len(text))
        if too_big is not None:
            return FileResult(findings=findings, internal_errors=crashes, warnings=[too_big])
    if alone and not apply:
        result = FileResult(findings=findings, internal_errors=crashes)
        _each_alone(text, tree, findings, path, alone, result)
        return result
    if not apply or not any(f.fix and f.fix.applicability in apply for f in findings):
        return FileResult(findings=findings, internal_errors=crashes)
    result = _fix_to_fixpoint(text, tree, findings, active, path, apply, project)
    result.internal_errors[:0] = crashes
    return result


def _each_alone(text: str, syntax: ast.Module, findings: list[Finding], path: str,
                levels: frozenset[Applicability], result: FileResult) -> None:
    """Fill `result.alone`: each wanted finding's fix, built with `FixTree.alone` set to it and applied alone."""
    wanted = [(n, f) for n, f in enumerate(findings) if f.fix and f.fix.applicability in levels]
    if not wanted:
        return
    try:
        module = parse(text)
    except ParseFailure:
        return  # LibCST cannot parse what CPython did: there is nothing to show, and the findings still stand
    if module.code != text:
        return  # see _fix_to_fixpoint: a fix rendered from this tree would change code no fix touched
    tree = FixTree(module, FileContext(path, SuppressionIndex(text)), syntax, text)
    for n, finding in wanted:
        tree.alone = finding
        fixes = _build_fixes([finding], tree, result)
        if fixes:
            rendered, _ = _apply_checked(tree, fixes, {id(fixes[0]): finding.code}, result)
            if rendered is not None and rendered[0] != text:
                result.alone[n] = rendered[0]
    tree.alone = None
    result.internal_errors = list(dict.fromkeys(result.internal_errors))


def _fix_to_fixpoint(text, syntax, findings, rules, path, apply, project=None) -> FileResult:
    result = FileResult()
    current_text = text
    for _ in range(MAX_PASSES):
        wanted = [f for f in findings if f.fix and f.fix.applicability in apply]
        if not wanted:
            break
        module = parse(current_text)
        if module.code != current_text:
            # LibCST does not reproduce every file byte for byte (it drops a backslash continuation on the first
            # line): rendering a fix from such a tree would change code no fix touched.
            result.internal_errors.append("fixes not applied: LibCST does not reproduce this file exactly")
            break
        tree = FixTree(module, FileContext(path, SuppressionIndex(current_text)), syntax, current_text)
        fixes = _build_fixes(wanted, tree, result)
        if not fixes:
            break
        codes = {id(f.built): f.code for f in wanted if f.built is not None}
        from autofix import fixer  # with LibCST, only in a process that renders a fix

        chosen = fixer.plan(fixes, tree.parent).applied
        rendered, chosen = _apply_checked(tree, chosen, codes, result)
        if rendered is None or rendered[0] == current_text:
            break
        result.fixed.extend(f for f in wanted if f.built in chosen)
        current_text, syntax = rendered
        # Memory: a finding's built fix holds LibCST nodes of this pass's tree, and its rule holds this pass's
        # semantic model. Kept, every pass's tree and model stayed alive to the end, beside the next pass's (a
        # 5 MB file took 3.8 GB); the findings need neither once their fixes are rendered.
        for finding in findings:
            finding.built, finding.rule = None, None
        del module, tree, fixes, chosen, rendered
        findings = find(syntax, current_text, rules, FileContext(path, SuppressionIndex(current_text)), [], project)
    else:
        result.internal_errors.append(f"fixes did not converge after {MAX_PASSES} passes; last result kept")
    result.findings = findings
    result.fixed_text = current_text if current_text != text else None
    # A dropped fix is found again on every pass: say so once.
    result.internal_errors = list(dict.fromkeys(result.internal_errors))
    return result


def _build_fixes(findings: list[Finding], tree: FixTree, result: FileResult) -> list[Fix]:
    """Ask each finding's rule for its edits, on the LibCST node at the finding's range."""
    fixes: dict[int, Fix] = {}
    for finding in findings:
        try:
            built = finding.rule.fix(finding, tree)
        except RecursionError:
            raise
        except Exception as error:  # noqa: BLE001 - a broken fix builder costs its fix, not the run
            result.internal_errors.append(f"{finding.code}: fix dropped because building it failed: "
                                          f"{error.__class__.__name__}: {error}")
            continue
        if built is None:
            continue
        if finding.fix is not None:
            built.applicability = finding.fix.applicability  # detection decided how safe it is
        finding.built = built
        fixes.setdefault(id(built), built)
    return list(fixes.values())


def _apply_checked(tree: FixTree, fixes: list[Fix], codes: dict[int, str], result: FileResult):
    """Apply `fixes`; if the result would not parse, drop the fixes that break it and report them.

    Returns ((new text, its ast tree) or None, the fixes applied).
    """
    rendered = _render(tree, fixes)
    if rendered is not None:
        return rendered, fixes
    good = []
    for fix in fixes:
        if _render(tree, [fix]) is None:
            result.internal_errors.append(f"{codes.get(id(fix), 'a rule')}: fix dropped because its result does not parse")
        else:
            good.append(fix)
    if not good:
        return None, []
    return _render(tree, good), good


def _render(tree: FixTree, fixes) -> tuple[str, ast.Module] | None:
    """The fixed text and its CPython tree, or None when it does not compile (check() proved the original does)."""
    from autofix import fixer

    try:
        text = fixer.apply(tree.module, fixes, tree.parent).code
        return text, ast.parse(text)
    except Exception:  # noqa: BLE001 - any failure to build or parse means the fix is unusable
        return None


def fix_each(text: str, findings: list[Finding], path: str = "<stdin>",
             apply: frozenset[Applicability] = frozenset()) -> tuple[list[tuple[Finding, str]], list[str]]:
    """Each finding's fix applied on its own to `text`, as an editor offers one quick fix per finding.

    `findings` are what `check()` found in `text` (without fixing). Returns (finding, the whole text with only
    its fix applied) for every finding whose fix is in `apply` and builds, and the internal errors (fixes dropped,
    each naming the rule). Findings whose fixes must go together (one Fix object) get the same text. One LibCST
    parse serves all of them; `check(apply=...)` remains the way to fix a whole file to a fixpoint.
    """
    wanted = [f for f in findings if f.fix and f.fix.applicability in apply]
    if not wanted:
        return [], []
    module = parse(text)
    if module.code != text:
        return [], ["fixes not applied: LibCST does not reproduce this file exactly"]
    tree = FixTree(module, FileContext(path, SuppressionIndex(text)), parse_ast(text), text)
    errors: list[str] = []
    rendered: dict[int, str | None] = {}
    fixed: list[tuple[Finding, str]] = []
    for finding in wanted:
        # Built here rather than through `finding.built`, so that two callers may fix the same findings at once
        # (an editor's code action while the server builds every quick fix in the background).
        try:
            fix = finding.rule.fix(finding, tree)
        except RecursionError:
            raise
        except Exception as error:  # noqa: BLE001 - a broken fix builder costs its fix
            errors.append(f"{finding.code}: fix dropped because building it failed: {error.__class__.__name__}: {error}")
            continue
        if fix is None:
            continue
        if id(fix) not in rendered:
            done = _render(tree, [fix])
            rendered[id(fix)] = done[0] if done is not None else None
            if done is None:
                errors.append(f"{finding.code}: fix dropped because its result does not parse")
        if rendered[id(fix)] is not None and rendered[id(fix)] != text:
            fixed.append((finding, rendered[id(fix)]))
    return fixed, list(dict.fromkeys(errors))
