"""Precision on real code: every finding on the pinned corpora, compared against a triage list made by reading each.

    python bench/real_code.py [--cache-dir .bench-cache] [--triage bench/triage.tsv] [--docs docs/real-code.md]
    python bench/real_code.py --update      # add new findings to the triage list as "untriaged", drop vanished ones

Runs `autofix --no-cache --format json` with the default rule set (and, separately, with `--preview`) on the
unpacked torch-geometric 2.8.1 and transformers 5.23.0 wheels. The triage list (tab-separated: corpus, path, line,
code, tier, verdict, reason) holds one row per finding, with verdict `true` (a real problem the rule is right to
report) or `false` (a false alarm), and a one-line reason written by whoever read the code.

Exit status 1 when a finding is new (not in the list), when a listed finding vanished, or when a row is still
`untriaged`: a change in what the rules report on real code must be looked at, not waved through.
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpora import CORPORA, DEFAULT_CACHE, corpus  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from autofix.registry import all_rules  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# What follows this line in the docs page is written by hand and kept when the page is regenerated.
NOTES = "<!-- notes below are kept by bench/real_code.py --docs -->\n"
FIELDS = ("corpus", "path", "line", "code", "tier", "verdict", "reason")
Key = tuple  # (corpus, path, line, code, tier)


def findings(tree: Path, preview: bool) -> list[dict]:
    command = [sys.executable, "-m", "autofix", "--no-cache", "-q", "--format", "json", "--no-respect-gitignore", "."]
    if preview:
        command.insert(3, "--preview")
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    if done.returncode not in (0, 1):
        raise SystemExit(f"autofix failed on {tree} (exit {done.returncode}): {done.stderr.strip()[:500]}")
    return json.loads(done.stdout or "[]")


def current(cache: Path) -> dict[Key, dict]:
    """Every finding now: the default set as tier `stable`, what `--preview` adds as tier `preview`."""
    found: dict[Key, dict] = {}
    for name in CORPORA:
        tree = corpus(cache, name)
        stable = {(f["path"], f["line"], f["code"]) for f in findings(tree, preview=False)}
        for finding in findings(tree, preview=True):
            path = finding["path"].removeprefix("./")
            spot = (finding["path"], finding["line"], finding["code"])
            key = (name, path, str(finding["line"]), finding["code"], "stable" if spot in stable else "preview")
            found[key] = finding
    return found


def read_triage(path: Path) -> dict[Key, dict]:
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        rows = [r for r in csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")]
    return {(r["corpus"], r["path"], r["line"], r["code"], r["tier"]): r for r in rows}


def write_triage(path: Path, rows: list[dict]) -> None:
    rows.sort(key=lambda r: (r["corpus"], r["path"], int(r["line"]), r["code"]))
    with path.open("w", newline="") as handle:
        handle.write("# Every finding of autofix on the pinned corpora, read and judged: see bench/real_code.py\n")
        writer = csv.DictWriter(handle, FIELDS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: r[k] for k in FIELDS} for r in rows)


def precision_table(rows: list[dict], silent: dict[str, str] | None = None) -> str:
    """Findings, true, false and precision per rule and tier; `silent` (code -> tier) adds the rules that found
    nothing, so the page says they ran."""
    by_rule: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    for row in rows:
        by_rule[(row["code"], row["tier"])][row["verdict"]] += 1
    for code, tier in (silent or {}).items():
        if not any(c == code for c, _ in by_rule):
            by_rule[(code, tier)] = collections.Counter()
    lines = ["| rule | tier | findings | true | false | precision |", "|---|---|---:|---:|---:|---:|"]
    for (code, tier), counts in sorted(by_rule.items()):
        total = sum(counts.values())
        judged = counts["true"] + counts["false"]
        precision = f"{counts['true'] / judged:.0%}" if judged else "-"
        lines.append(f"| {code} | {tier} | {total} | {counts['true']} | {counts['false']} | {precision} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--triage", type=Path, default=ROOT / "bench" / "triage.tsv")
    parser.add_argument("--docs", type=Path, help="write the per-rule precision page here")
    parser.add_argument("--update", action="store_true", help="add new findings as untriaged, drop vanished ones")
    options = parser.parse_args()

    now = current(options.cache_dir)
    listed = read_triage(options.triage)
    new = sorted(set(now) - set(listed))
    vanished = sorted(set(listed) - set(now))
    rows = [listed[k] for k in now if k in listed]
    for key in new:
        finding = now[key]
        rows.append(dict(zip(FIELDS, (*key, "untriaged", finding["message"]))))
    untriaged = [r for r in rows if r["verdict"] not in ("true", "false")]

    for key in new:
        print("new:      ", "\t".join(key), "-", now[key]["message"])
    for key in vanished:
        print("vanished: ", "\t".join(key), "-", listed[key]["reason"])
    table = precision_table([r for r in rows if r["verdict"] in ("true", "false")])
    print(table)
    if options.update:
        write_triage(options.triage, rows)
        print(f"wrote {options.triage}: {len(rows)} rows, {len(untriaged)} untriaged")
    if options.docs:
        stable_false = sum(1 for r in rows if r["tier"] == "stable" and r["verdict"] == "false")
        silent = sorted({rule.code for rule in all_rules()} - {r["code"] for r in rows})
        kept = ""
        if options.docs.is_file() and NOTES in options.docs.read_text():
            kept = options.docs.read_text().split(NOTES, 1)[1]
        options.docs.write_text(
            "# Precision on real code\n\n"
            "`python bench/real_code.py --docs docs/real-code.md` runs autofix (default rules, then `--preview`) on the "
            "pinned wheels of torch-geometric 2.8.1 and transformers 5.23.0 and compares every finding with "
            "`bench/triage.tsv`, where each one was read and judged true (a real problem) or false (a false alarm), "
            "with a one-line reason. The run fails on any finding that is new or vanished.\n\n"
            f"{len(rows)} findings; false alarms in the default set: **{stable_false}**.\n\n{table}\n\n"
            f"Rules with no finding on these trees: {', '.join(silent) or 'none'}. For them the trees show only that "
            "they stay quiet on library code; what else backs their tier is in the notes below.\n\n"
            f"{NOTES}{kept or chr(10)}"
        )
    if new or vanished or untriaged:
        print(f"{len(new)} new, {len(vanished)} vanished, {len(untriaged)} untriaged: read them, then update the list",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
