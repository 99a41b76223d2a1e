"""Recall and precision on snippets from public bug reports: each labelled bug, each correct snippet, per half.

    python bench/bug_reports.py [--snippets /work/corpora/bug-reports] [--labels bench/bug_reports.tsv]
    python bench/bug_reports.py --half development --misses      # the development half's misses, one per line

The snippets are code that people posted in public bug reports (GitHub issues and pull requests, Q&A and forum
pages) and in their answers. They are kept outside this repository (see bench/bug_reports.tsv: each row has the
source's address and the sha256 of the snippet's text, never the code). Each snippet is checked as it is, with no
imports added, alone in an empty folder (so the project index sees nothing else), by
`autofix --no-cache --output-format json` with the default rule set.

The labels (bench/bug_reports.tsv, tab-separated): `id`, `url`, `half` (development or held-out, drawn at random
with a fixed seed before any rule work used them), `kind` (a short name of the bug; `correct` for a snippet taken
from an accepted answer or a fixed version, which holds no bug), `code` (the autofix rule expected to report it, or
`-` where no rule covers the kind yet), `line` (the bug's line within the snippet, counted from 1) and `sha256`.
A snippet may have several rows, one per bug.

Reported per half:
- recall at the line: labelled bugs with a finding of any code whose lines cover the bug's line;
- recall with the expected code: labelled bugs that have an expected code and a finding of that code there;
- findings on correct snippets (each one is a false alarm), and how many correct snippets have any;
- findings on bug snippets away from every labelled line (not judged: listed for the development half only).
The per-kind breakdown and the list of misses are printed for the development half only: the held-out half is
reported in aggregate, so that nobody learns its shapes from this output.
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SNIPPETS = Path(os.environ.get("AUTOFIX_BUG_REPORTS", "/work/corpora/bug-reports"))
DEFAULT_LABELS = ROOT / "bench" / "bug_reports.tsv"
HALVES = ("development", "held-out")
CORRECT = "correct"
SEED = "autofix-bug-reports-2026-12-07"


def draw_half(snippet_id: str) -> str:
    """The half of a snippet: a coin flip seeded by SEED and the id alone, drawn before any rule work used it (so
    adding snippets never moves one that is already labelled)."""
    return HALVES[hashlib.sha256(f"{SEED}:{snippet_id}".encode()).digest()[0] & 1]


@dataclass
class Label:
    id: str
    url: str
    half: str
    kind: str
    code: str
    line: int | None
    sha256: str


@dataclass
class Outcome:
    findings: list[dict] = field(default_factory=list)
    error: str = ""


def read_labels(path: Path) -> list[Label]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t"))
    labels = []
    for row in rows:
        if row["half"] != draw_half(row["id"]):
            raise SystemExit(f"{path}: {row['id']}: half {row['half']!r} is not the one drawn for it")
        line = None if row["line"] in ("", "-") else int(row["line"])
        if (row["kind"] == CORRECT) != (line is None):
            raise SystemExit(f"{path}: {row['id']}: a bug needs a line, a correct snippet has none")
        labels.append(Label(row["id"], row["url"], row["half"], row["kind"], row["code"], line, row["sha256"]))
    return labels


def snippet_text(snippets: Path, label: Label) -> bytes:
    path = snippets / f"{label.id}.py"
    if not path.is_file():
        raise SystemExit(f"{path}: missing (the snippets are kept outside the repository; see bench/bug_reports.tsv)")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != label.sha256:
        raise SystemExit(f"{path}: its text is not the one labelled (sha256 differs)")
    return data


def autofix_command() -> list[str]:
    exe = shutil.which("autofix")
    return [exe] if exe else [sys.executable, "-m", "autofix"]


def check(snippet_id: str, data: bytes) -> Outcome:
    """autofix on one snippet, alone in an empty folder."""
    with tempfile.TemporaryDirectory(prefix="bug-report-") as folder:
        path = Path(folder) / f"{snippet_id}.py"
        path.write_bytes(data)
        done = subprocess.run([*autofix_command(), "--no-cache", "-q", "--output-format", "json", path.name],
                              cwd=folder, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"},
                              timeout=120, check=False)
    if done.returncode not in (0, 1):
        return Outcome(error=(done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1])
    try:
        return Outcome(findings=json.loads(done.stdout or "[]"))
    except json.JSONDecodeError:
        return Outcome(error=f"not JSON: {done.stdout[:200]!r}")


def covers(finding: dict, line: int) -> bool:
    return finding["line"] <= line <= max(finding.get("end_line") or finding["line"], finding["line"])


def percent(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def score(labels: list[Label], outcomes: dict[str, Outcome], half: str) -> dict:
    rows = [label for label in labels if label.half == half]
    bugs = [label for label in rows if label.kind != CORRECT]
    correct_ids = sorted({label.id for label in rows if label.kind == CORRECT})
    at_line = [b for b in bugs if any(covers(f, b.line) for f in outcomes[b.id].findings)]
    expected = [b for b in bugs if b.code not in ("", "-")]
    with_code = [b for b in expected if any(covers(f, b.line) and f["code"] == b.code for f in outcomes[b.id].findings)]
    false_alarms = [f for i in correct_ids for f in outcomes[i].findings]
    bug_lines: dict[str, list[int]] = collections.defaultdict(list)
    for b in bugs:
        bug_lines[b.id].append(b.line)
    elsewhere = [(i, f) for i, lines in bug_lines.items() for f in outcomes[i].findings
                 if not any(covers(f, line) for line in lines)]
    return {
        "half": half, "snippets": len({label.id for label in rows}), "bugs": len(bugs),
        "bug_snippets": len(bug_lines), "reported_at_line": len(at_line), "with_expected_code": len(with_code),
        "bugs_with_a_code": len(expected), "correct_snippets": len(correct_ids),
        "findings_on_correct": len(false_alarms),
        "correct_snippets_with_findings": sum(1 for i in correct_ids if outcomes[i].findings),
        "findings_elsewhere_on_bug_snippets": len(elsewhere),
        "errors": sorted({label.id for label in rows if outcomes[label.id].error}),
        "_bugs": bugs, "_at_line": at_line, "_with_code": with_code, "_elsewhere": elsewhere,
        "_false_alarms": [(i, f) for i in correct_ids for f in outcomes[i].findings],
    }


def summary_table(results: list[dict]) -> str:
    header = ("| half | snippets | labelled bugs | reported at the line | with the expected code | correct snippets "
              "| findings on correct snippets | findings elsewhere on bug snippets | errors |")
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(
            f"| {r['half']} | {r['snippets']} | {r['bugs']} "
            f"| {r['reported_at_line']} ({percent(r['reported_at_line'], r['bugs'])}) "
            f"| {r['with_expected_code']} of {r['bugs_with_a_code']} "
            f"({percent(r['with_expected_code'], r['bugs_with_a_code'])}) "
            f"| {r['correct_snippets']} | {r['findings_on_correct']} (in {r['correct_snippets_with_findings']} "
            f"snippets) | {r['findings_elsewhere_on_bug_snippets']} | {len(r['errors'])} |")
    return "\n".join(lines)


def kind_table(result: dict) -> str:
    by_kind: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    at_line = {id(b) for b in result["_at_line"]}
    with_code = {id(b) for b in result["_with_code"]}
    for b in result["_bugs"]:
        counts = by_kind[(b.kind, b.code)]
        counts["bugs"] += 1
        counts["at_line"] += id(b) in at_line
        counts["with_code"] += id(b) in with_code
    lines = ["| kind | expected code | bugs | reported at the line | with the expected code |",
             "|---|---|---:|---:|---:|"]
    for (kind, code), c in sorted(by_kind.items(), key=lambda kv: (-kv[1]["bugs"], kv[0])):
        expected = f"{c['with_code']}" if code not in ("", "-") else "-"
        lines.append(f"| {kind} | {code} | {c['bugs']} | {c['at_line']} | {expected} |")
    return "\n".join(lines)


def misses(result: dict, outcomes: dict[str, Outcome]) -> str:
    at_line = {id(b) for b in result["_at_line"]}
    out = []
    for b in result["_bugs"]:
        if id(b) not in at_line:
            found = ", ".join(f"{f['code']}@{f['line']}" for f in outcomes[b.id].findings) or "nothing"
            out.append(f"miss\t{b.id}\t{b.kind}\t{b.code}\tline {b.line}\tfound: {found}\t{b.url}")
    for i, f in result["_false_alarms"]:
        out.append(f"false alarm\t{i}\t{f['code']}@{f['line']}\t{f['message']}")
    for i, f in result["_elsewhere"]:
        out.append(f"elsewhere\t{i}\t{f['code']}@{f['line']}\t{f['message']}")
    for i in result["errors"]:
        out.append(f"error\t{i}\t{outcomes[i].error}")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snippets", type=Path, default=DEFAULT_SNIPPETS, help="folder of <id>.py snippets")
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    parser.add_argument("--half", choices=HALVES, action="append", help="score this half only (repeatable)")
    parser.add_argument("--misses", action="store_true", help="list the development half's misses and findings")
    parser.add_argument("--json", type=Path, help="also write the aggregate numbers here")
    parser.add_argument("--jobs", type=int, default=2)
    options = parser.parse_args()
    if not options.snippets.is_dir():
        raise SystemExit(f"{options.snippets}: no such folder (the snippets live outside the repository)")

    halves = options.half or list(HALVES)
    labels = [label for label in read_labels(options.labels) if label.half in halves]
    texts = {label.id: snippet_text(options.snippets, label) for label in labels}
    with concurrent.futures.ThreadPoolExecutor(options.jobs) as pool:
        futures = {i: pool.submit(check, i, data) for i, data in texts.items()}
        outcomes = {i: future.result() for i, future in futures.items()}

    results = [score(labels, outcomes, half) for half in halves]
    print(summary_table(results))
    for result in results:
        if result["half"] == "development":
            print("\nDevelopment half, per kind:\n")
            print(kind_table(result))
            if options.misses:
                print()
                print(misses(result, outcomes))
    if options.json:
        options.json.write_text(json.dumps([{k: v for k, v in r.items() if not k.startswith("_")} for r in results],
                                           indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
