"""Runs the selected rules over one file's source and, when asked, applies their fixes to a fixpoint.

Costs are paid only where a rule may fire: a file that matches no rule's textual prefilter is never
parsed, and LibCST metadata is resolved only for the rules whose prefilter matched.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import MetadataWrapper

from autofix import fixer
from autofix.rule import Applicability, FileContext, Finding, Fix, Rule, SuppressionIndex

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


def parse(text: str) -> cst.Module:
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        _syntax_check(text)  # CPython's message names the problem better, when it sees one
        raise ParseFailure(f"syntax error at {error.raw_line}:{error.raw_column + 1} (LibCST cannot parse it)") from None
    except RecursionError:
        raise ParseFailure("too deeply nested to parse") from None


def _syntax_check(text: str) -> None:
    try:
        ast.parse(text)
    except SyntaxError as error:
        raise ParseFailure(f"syntax error at {error.lineno}:{error.offset}: {error.msg}") from None
    except RecursionError:
        raise ParseFailure("too deeply nested to parse (Python's own parser gives up too)") from None
    except (ValueError, MemoryError) as error:
        raise ParseFailure(f"cannot parse: {error.__class__.__name__}") from None


class RuleCrash(Exception):
    """A rule raised while looking at a file: a bug in that rule, reported with its code."""


def find(module: cst.Module, rules: tuple[type[Rule], ...], context: FileContext, crashes: list[str] | None = None):
    """All findings of `rules` in `module`, sorted by position. A crashing rule is skipped and named in `crashes`."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    instances = [rule(context) for rule in rules]
    try:
        wrapper.visit_batched(instances)
    except RecursionError:
        raise
    except Exception:  # noqa: BLE001 - one rule's bug must not hide the others' findings
        # Run the rules one at a time to find the culprit(s); the others' findings still count.
        instances = []
        for rule in rules:
            instance = rule(context)
            try:
                wrapper.visit_batched([instance])
            except RecursionError:
                raise
            except Exception as error:  # noqa: BLE001
                if crashes is None:
                    raise RuleCrash(f"{rule.code} crashed: {error.__class__.__name__}: {error}") from error
                crashes.append(f"{rule.code} crashed: {error.__class__.__name__}: {error}")
                continue
            instances.append(instance)
    findings = [f for rule in instances for f in rule.findings]
    findings.sort(key=lambda f: (f.line, f.column, f.code))
    return findings


def candidate_rules(text: str, rules: tuple[type[Rule], ...]) -> tuple[type[Rule], ...]:
    return tuple(rule for rule in rules if rule.prefilter.search(text))


def check(
    text: str,
    rules: tuple[type[Rule], ...],
    path: str = "<stdin>",
    apply: frozenset[Applicability] = frozenset(),
    max_size: int = MAX_FILE_SIZE,
) -> FileResult:
    """Find (and with `apply`, fix) what `rules` report in `text`. Raises ParseFailure."""
    active = candidate_rules(text, rules)
    if len(text) > max_size:
        if not active:
            return FileResult()  # too big to parse cheaply, and nothing could fire anyway
        raise ParseFailure(
            f"{len(text) / 2**20:.1f} MiB is over max-file-size ({max_size / 2**20:.1f} MiB), so it was not checked; "
            "raise max-file-size in [tool.autofix] to check it"
        )
    # CPython's parser first, always: it reports syntax errors best, and it refuses nesting deep enough to
    # overflow LibCST's native parser (which would kill the whole process) with a clean RecursionError.
    _syntax_check(text)
    if not active:
        return FileResult()
    module = parse(text)
    suppressed = SuppressionIndex(text)
    crashes: list[str] = []
    findings = find(module, active, FileContext(path, suppressed), crashes)
    if not apply or not any(f.fix and f.fix.applicability in apply for f in findings):
        return FileResult(findings=findings, internal_errors=crashes)
    result = _fix_to_fixpoint(text, module, findings, active, path, apply)
    result.internal_errors[:0] = crashes
    return result


def _fix_to_fixpoint(text, module, findings, rules, path, apply) -> FileResult:
    result = FileResult()
    current_text = text
    for _ in range(MAX_PASSES):
        fixes = _unique_fixes(f for f in findings if f.fix and f.fix.applicability in apply)
        if not fixes:
            break
        codes = {id(f.fix): f.code for f in findings if f.fix}
        chosen = fixer.plan(module, fixes).applied
        rendered, chosen = _apply_checked(module, chosen, codes, result)
        if rendered is None or rendered[0] == current_text:
            break
        result.fixed.extend(f for f in findings if f.fix in chosen)
        current_text, module = rendered  # the tree that validated the fix is the next pass's tree
        suppressed = SuppressionIndex(current_text)
        findings = find(module, rules, FileContext(path, suppressed), [])
    else:
        result.internal_errors.append(f"fixes did not converge after {MAX_PASSES} passes; last result kept")
    result.findings = findings
    result.fixed_text = current_text if current_text != text else None
    # A dropped fix is found again on every pass: say so once.
    result.internal_errors = list(dict.fromkeys(result.internal_errors))
    return result


def _apply_checked(module, fixes: list[Fix], codes: dict[int, str], result: FileResult):
    """Apply `fixes`; if the result would not parse, drop the fixes that break it and report them.

    Returns ((new text, its parsed module) or None, the fixes applied).
    """
    rendered = _render(module, fixes)
    if rendered is not None:
        return rendered, fixes
    good = []
    for fix in fixes:
        if _render(module, [fix]) is None:
            result.internal_errors.append(f"{codes[id(fix)]}: fix dropped because its result does not parse")
        else:
            good.append(fix)
    if not good:
        return None, []
    return _render(module, good), good


def _render(module, fixes) -> tuple[str, cst.Module] | None:
    """The fixed text and its tree, or None when it does not parse (check() already proved the original does)."""
    try:
        text = fixer.apply(module, fixes).code
        reparsed = cst.parse_module(text)
    except Exception:  # noqa: BLE001 - any failure to build or re-parse means the fix is unusable
        return None
    if not _compiles(text):
        return None
    return text, reparsed


def _compiles(text: str) -> bool:
    try:
        _syntax_check(text)
    except ParseFailure:
        return False
    return True


def _unique_fixes(findings) -> list[Fix]:
    seen: dict[int, Fix] = {}
    for finding in findings:
        seen.setdefault(id(finding.fix), finding.fix)
    return list(seen.values())
