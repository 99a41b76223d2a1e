"""ruff's machine-readable output formats, in ruff 0.17's shapes: json, json-lines, junit, grouped, github,
gitlab, pylint and azure (concise and full are in render.py; rdjson and sarif, which carry suggestions, in
review/formats.py). Each writer takes the outcomes and a stream; none decides an exit code.

Where ruff names a field autofix has no value for, the field is there with ruff's null (a rule's `url`: autofix
has no hosted rule pages; `autofix explain CODE` is its documentation). In a notebook, lines count within the
cell and `cell` names it, as in ruff.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import IO, Iterable, Iterator
from xml.sax.saxutils import quoteattr, escape

from autofix.runner import FileOutcome, Reported

WITH_EDITS = ("json", "json-lines")  # formats that carry each fix's edits, so each fix is rendered by itself
SEVERITY = "error"  # ruff's one severity for every rule


def _findings(outcomes: Iterable[FileOutcome]) -> Iterator[tuple[FileOutcome, Reported]]:
    for outcome in sorted(outcomes, key=lambda o: o.path):
        for finding in outcome.findings:
            yield outcome, finding


def _absolute(path: str) -> str:
    return path if path == "-" else os.path.abspath(path)


def _where(finding: Reported) -> str:
    """`line:col`, or in a notebook `cell N:line:col` (ruff's notation)."""
    cell = f"cell {finding.cell}:" if finding.cell is not None else ""
    return f"{cell}{finding.line}:{finding.column}"


# --- json, json-lines -------------------------------------------------------------------------------------------

def edits(finding: Reported) -> list[dict]:
    """The finding's own fix as ruff's edits: replace whole lines [row, end row) with `content` (positions 1-based;
    an insertion has equal start and end). Built from the rows of its preview (the fix applied by itself)."""
    rows = finding.preview or ()
    out: list[dict] = []
    block: list[tuple] = []
    last_old = 0  # the last line before the block that both sides share

    def close():
        if not block:
            return
        removed = [r[1] for r in block if r[0] == "-"]
        content = "".join(r[3] + "\n" for r in block if r[0] == "+")
        start = removed[0] if removed else last_old + 1
        end = removed[-1] + 1 if removed else start
        out.append({"content": content, "location": {"column": 1, "row": start},
                    "end_location": {"column": 1, "row": end}})
        block.clear()

    for row in rows:
        tag, old = row[0], row[1]
        if tag in "-+":
            block.append(row)
            continue
        close()
        if tag == " ":
            last_old = old
    close()
    return out


def finding_json(outcome: FileOutcome, finding: Reported) -> dict:
    """ruff's fields (cell, code, end_location, filename, fix, location, message, name, noqa_row, severity, url),
    and the fields earlier autofix releases wrote (path, line, column, end_line, end_column), kept for scripts."""
    fix = None
    if finding.fix is not None:
        fix = {"applicability": finding.fix.applicability.value, "edits": edits(finding),
               "message": None, "effect": finding.fix.effect.value}
    return {
        "cell": finding.cell,
        "code": finding.code,
        "end_location": {"column": finding.end_column, "row": finding.end_line},
        "filename": _absolute(outcome.path),
        "fix": fix,
        "location": {"column": finding.column, "row": finding.line},
        "message": finding.message,
        "name": finding.name,
        "noqa_row": finding.line,  # the line whose noqa comment suppresses it (`--add-noqa` writes it there)
        "severity": SEVERITY,
        "url": None,
        "path": outcome.path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
    }


def json_report(outcomes: Iterable[FileOutcome], stream: IO[str]) -> None:
    rows = [finding_json(o, f) for o, f in _findings(outcomes)]
    json.dump(rows, stream, indent=2, sort_keys=True)
    stream.write("\n")


def json_lines(outcomes: Iterable[FileOutcome], stream: IO[str]) -> None:
    for outcome, finding in _findings(outcomes):
        stream.write(json.dumps(finding_json(outcome, finding), sort_keys=True, separators=(",", ":")) + "\n")


def statistics_json(rows, stream: IO[str]) -> None:
    """`--statistics --output-format json`: ruff's fields per rule (code, name, count, fixable, fixable_count), and
    autofix's table columns beside them (files, fixed)."""
    out = []
    for r in rows:
        remaining = r.findings - r.fixed
        fixable = remaining - r.unfixable
        out.append({"code": r.code, "name": r.name, "count": r.findings, "fixable": fixable > 0,
                    "fixable_count": fixable, "files": r.files, "fixed": r.fixed})
    json.dump(out, stream, indent=2)
    stream.write("\n")


# --- junit ------------------------------------------------------------------------------------------------------

def junit(outcomes: Iterable[FileOutcome], stream: IO[str]) -> None:
    by_file: dict[str, list[Reported]] = {}
    for outcome, finding in _findings(outcomes):
        by_file.setdefault(_absolute(outcome.path), []).append(finding)
    total = sum(len(f) for f in by_file.values())
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuites name="autofix" tests="{total}" skipped="0" failures="{total}" errors="0">']
    for path, findings in by_file.items():
        out.append(f'    <testsuite name={quoteattr(path)} tests="{len(findings)}" skipped="0" errors="0" '
                   f'failures="{len(findings)}" package="org.autofix">')
        classname = os.path.splitext(path)[0]
        for f in findings:
            where = f"line {f.line}, col {f.column}" if f.cell is None else f"cell {f.cell}, line {f.line}, col {f.column}"
            out += [
                f'        <testcase name={quoteattr("org.autofix." + f.code)} classname={quoteattr(classname)} '
                f'line="{f.line}" column="{f.column}">',
                "            <properties>",
                f'                <property name="severity" value="{SEVERITY}"/>',
                "            </properties>",
                f"            <failure message={quoteattr(f.message)}>{escape(f'{where}, {f.message}')}</failure>",
                "        </testcase>",
            ]
        out.append("    </testsuite>")
    out.append("</testsuites>")
    stream.write("\n".join(out) + "\n")


# --- grouped, pylint, github, azure --------------------------------------------------------------------------------

def grouped(outcomes: Iterable[FileOutcome], fixable, stream: IO[str]) -> None:
    """`path:` then each finding indented, positions aligned, and a blank line after each file (ruff's shape);
    `fixable(finding)` says whether it gets the `[*]` marker."""
    for outcome in sorted(outcomes, key=lambda o: o.path):
        if not outcome.findings:
            continue
        stream.write(f"{outcome.path}:\n")
        width = max(len(_where(f)) for f in outcome.findings)
        for f in outcome.findings:
            marker = " [*]" if fixable(f) else ""
            stream.write(f"  {_where(f):<{width}} {f.code}{marker} {f.message}\n")
        stream.write("\n")


def pylint(outcomes: Iterable[FileOutcome], stream: IO[str]) -> None:
    for outcome, f in _findings(outcomes):
        line = f"{f.line}" if f.cell is None else f"cell {f.cell}:{f.line}"
        stream.write(f"{outcome.path}:{line}: [{f.code}] {f.message}\n")


def _workflow_data(text: str) -> str:
    """GitHub workflow-command escaping of a message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _workflow_property(text: str) -> str:
    return _workflow_data(text).replace(":", "%3A").replace(",", "%2C")


def github(outcomes: Iterable[FileOutcome], stream: IO[str]) -> None:
    """GitHub Actions workflow commands: `::error title=...,file=...,line=...,col=...,endLine=...,endColumn=...::`."""
    for outcome, f in _findings(outcomes):
        props = (f"title={_workflow_property(f'autofix ({f.code})')},file={_workflow_property(_absolute(outcome.path))},"
                 f"line={f.line},col={f.column},endLine={f.end_line},endColumn={f.end_column}")
        text = f"{outcome.path}:{_where(f)}: {f.code} {f.message}"
        stream.write(f"::{SEVERITY} {props}::{_workflow_data(text)}\n")


def _azure_property(text: str) -> str:
    return text.replace("%", "%AZP25").replace(";", "%3B").replace("\r", "%0D").replace("\n", "%0A").replace("]", "%5D")


def azure(outcomes: Iterable[FileOutcome], stream: IO[str]) -> None:
    """Azure Pipelines logging commands: `##vso[task.logissue type=error;sourcepath=...;...]message`."""
    for outcome, f in _findings(outcomes):
        stream.write(f"##vso[task.logissue type={SEVERITY};sourcepath={_azure_property(_absolute(outcome.path))};"
                     f"linenumber={f.line};columnnumber={f.column};code={f.code};]"
                     f"{f.message.replace(chr(13), ' ').replace(chr(10), ' ')}\n")


# --- gitlab -------------------------------------------------------------------------------------------------------

def gitlab(outcomes: Iterable[FileOutcome], stream: IO[str]) -> None:
    """GitLab Code Quality: check_name, description, severity, fingerprint, location (path relative to the project
    root, which CI_PROJECT_DIR names, as ruff does). The fingerprint leaves the line out, so a finding keeps it
    when code above it moves."""
    root = os.environ.get("CI_PROJECT_DIR") or os.getcwd()
    rows, seen = [], {}
    for outcome, f in _findings(outcomes):
        path = os.path.relpath(_absolute(outcome.path), root).replace(os.sep, "/")
        key = "\0".join((path, f.code, f.message, str(f.cell)))
        seen[key] = seen.get(key, 0) + 1
        fingerprint = hashlib.sha256(f"{key}\0{seen[key]}".encode("utf-8", "surrogatepass")).hexdigest()[:16]
        rows.append({
            "check_name": f.code,
            "description": f"{f.code}: {f.message}",
            "severity": "major",
            "fingerprint": fingerprint,
            "location": {"path": path, "positions": {"begin": {"line": f.line, "column": f.column},
                                                     "end": {"line": f.end_line, "column": f.end_column}}},
        })
    json.dump(rows, stream, indent=2)
    stream.write("\n")
