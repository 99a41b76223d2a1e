"""The fix stage's entry points: fix a file to a fixpoint, render each fix alone, or each quick fix of an editor.

Each takes the text with CPython's tree of it (and, from detection, its suppression comments): the text is
parsed with LibCST once per pass, and fixes are built only for the findings given, those to be applied or shown.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Callable

from autofix.fixes.tree import FixTree
from autofix.parsing import ParseFailure, parse_ast, parse_cst
from autofix.rule import Applicability, FileContext, Finding, Fix, SuppressionIndex

MAX_PASSES = 8  # a fix that is still producing changes after this many passes is a bug in a rule


@dataclass
class Fixed:
    findings: list[Finding]  # what remains in the fixed text
    fixed: list[Finding] = field(default_factory=list)  # findings whose fix was applied
    text: str | None = None  # the new source, or None when nothing changed
    errors: list[str] = field(default_factory=list)  # fixes dropped, each naming the rule


# Detection over a new text (the fixpoint's next pass): (its tree, its text, its suppressions) -> findings.
FindAgain = Callable[[ast.Module, str, SuppressionIndex], list[Finding]]


def fix_to_fixpoint(text: str, syntax: ast.Module, suppressed: SuppressionIndex, findings: list[Finding], path: str,
                    apply: frozenset[Applicability], find_again: FindAgain) -> Fixed:
    """Apply the fixes of `findings` at the levels in `apply`, check the new text again and repeat, until no
    fix changes anything. Raises ParseFailure when LibCST cannot parse a text CPython parsed."""
    result = Fixed(findings)
    current_text = text
    for _ in range(MAX_PASSES):
        wanted = [f for f in findings if f.fix and f.fix.applicability in apply]
        if not wanted:
            break
        module = parse_cst(current_text)
        tree = FixTree(module, FileContext(path, suppressed), syntax, current_text)
        if tree.code_of(module) != current_text:
            # LibCST does not reproduce every file byte for byte (it drops a backslash continuation on the first
            # line): rendering a fix from such a tree would change code no fix touched.
            result.errors.append("fixes not applied: LibCST does not reproduce this file exactly")
            break
        fixes = _build_fixes(wanted, tree, result.errors)
        if not fixes:
            break
        codes = {id(f.built): f.code for f in wanted if f.built is not None}
        from autofix.fixes import (
            apply as applying,  # with LibCST, only in a process that renders a fix
        )

        chosen = applying.plan(fixes, tree.parent).applied
        rendered, chosen = _apply_checked(tree, chosen, codes, result.errors)
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
        suppressed = SuppressionIndex(current_text)
        findings = find_again(syntax, current_text, suppressed)
    else:
        result.errors.append(f"fixes did not converge after {MAX_PASSES} passes; last result kept")
    result.findings = findings
    result.text = current_text if current_text != text else None
    # A dropped fix is found again on every pass: say so once.
    result.errors = list(dict.fromkeys(result.errors))
    return result


def each_alone(text: str, syntax: ast.Module, suppressed: SuppressionIndex, findings: list[Finding], path: str,
               levels: frozenset[Applicability], where: Callable[[Finding], bool] | None = None,
               ) -> tuple[dict[int, str], list[str]]:
    """For each finding whose fix is at one of `levels`: the text its own fix gives, built with `FixTree.alone` set
    to it and applied by itself, by the finding's index in `findings` (a preview of that fix, or a review
    suggestion that must not reach lines another finding's fix would join to it); and the internal errors. With
    `where`, only for the findings it accepts: a fix nobody will see is not rendered."""
    alone: dict[int, str] = {}
    errors: list[str] = []
    wanted = [(n, f) for n, f in enumerate(findings)
              if f.fix and f.fix.applicability in levels and (where is None or where(f))]
    if not wanted:
        return alone, errors
    try:
        module = parse_cst(text)
    except ParseFailure:
        return alone, errors  # LibCST cannot parse what CPython did: nothing to show, and the findings still stand
    tree = FixTree(module, FileContext(path, suppressed), syntax, text)
    if tree.code_of(module) != text:
        return alone, errors  # see fix_to_fixpoint: a fix rendered from this tree would change code no fix touched
    for n, finding in wanted:
        tree.alone = finding
        fixes = _build_fixes([finding], tree, errors)
        if fixes:
            rendered, _ = _apply_checked(tree, fixes, {id(fixes[0]): finding.code}, errors)
            if rendered is not None and rendered[0] != text:
                alone[n] = rendered[0]
    tree.alone = None
    return alone, list(dict.fromkeys(errors))


def fix_each(text: str, findings: list[Finding], path: str = "<stdin>",
             apply: frozenset[Applicability] = frozenset(),
             syntax: ast.Module | None = None) -> tuple[list[tuple[Finding, str]], list[str]]:
    """Each finding's fix applied on its own to `text`, as an editor offers one quick fix per finding.

    `findings` are what `check()` found in `text` (without fixing); `syntax`, CPython's tree of `text` when the
    caller has it. Returns (finding, the whole text with only its fix applied) for every finding whose fix is in
    `apply` and builds, and the internal errors (fixes dropped, each naming the rule). Findings whose fixes must
    go together (one Fix object) get the same text. One LibCST parse serves all of them; `check(apply=...)`
    remains the way to fix a whole file to a fixpoint.
    """
    wanted = [f for f in findings if f.fix and f.fix.applicability in apply]
    if not wanted:
        return [], []
    module = parse_cst(text)
    tree = FixTree(module, FileContext(path, SuppressionIndex(text)), syntax if syntax is not None else parse_ast(text),
                   text)
    if tree.code_of(module) != text:
        return [], ["fixes not applied: LibCST does not reproduce this file exactly"]
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


def _build_fixes(findings: list[Finding], tree: FixTree, errors: list[str]) -> list[Fix]:
    """Ask each finding's rule for its edits, on the LibCST node at the finding's range."""
    fixes: dict[int, Fix] = {}
    for finding in findings:
        try:
            built = finding.rule.fix(finding, tree)
        except RecursionError:
            raise
        except Exception as error:  # noqa: BLE001 - a broken fix builder costs its fix, not the run
            errors.append(f"{finding.code}: fix dropped because building it failed: "
                          f"{error.__class__.__name__}: {error}")
            continue
        if built is None:
            continue
        if finding.fix is not None:
            built.applicability = finding.fix.applicability  # detection decided how safe it is
        finding.built = built
        fixes.setdefault(id(built), built)
    return list(fixes.values())


def _apply_checked(tree: FixTree, fixes: list[Fix], codes: dict[int, str], errors: list[str]):
    """Apply `fixes`; if the result would not parse, drop the fixes that break it and report them.

    Returns ((new text, its ast tree) or None, the fixes applied).
    """
    rendered = _render(tree, fixes)
    if rendered is not None:
        return rendered, fixes
    good = []
    for fix in fixes:
        if _render(tree, [fix]) is None:
            errors.append(f"{codes.get(id(fix), 'a rule')}: fix dropped because its result does not parse")
        else:
            good.append(fix)
    if not good:
        return None, []
    return _render(tree, good), good


def _render(tree: FixTree, fixes) -> tuple[str, ast.Module] | None:
    """The fixed text and its CPython tree, or None when it does not compile (detection proved the original does)."""
    from autofix.fixes import apply as applying

    try:
        text = tree.code_of(applying.apply(tree.module, fixes, tree.parent))
        return text, ast.parse(text)
    except Exception:  # noqa: BLE001 - any failure to build or parse means the fix is unusable
        return None
