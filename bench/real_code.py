"""Precision and recall on real code: every finding and every candidate statement on the pinned trees, against a
triage list made by reading each one.

    python bench/real_code.py [--tree NAME=PATH ...] [--docs docs/real-code.md]
    python bench/real_code.py --tree annotated-dl=/work/trees/annotated-dl \\
        --tree pytorch-tutorial=/work/trees/pytorch-tutorial --update     # new rows as "untriaged", drop vanished

Trees: the pinned wheels of bench/corpora.py (downloaded on first use), plus local copies of public repositories
given by path (`--tree NAME=PATH`, repeatable; the commits used are in corpora.REPOSITORIES). Rows of a tree not
run this time are kept and not compared. `--unseen` adds the unseen wheels (corpora.UNSEEN_WHEELS); the unseen
repositories (corpora.UNSEEN_REPOSITORIES) come by `--tree` like the others.

Halves: every tree is `visible` (the trees the rules were developed on), `development` or `held-out`
(corpora.HALVES, drawn at random before any rule work). Each table totals the three halves separately. The
held-out trees are run but never read until the end: the table of misses leaves their rows out, and only counts
them.

Precision: `autofix --no-cache --format json` runs with the default rule set and, separately, with `--preview`.
Each finding has a row (kind `finding`) with verdict `true` (a real problem the rule is right to report) or
`false` (a false alarm).

Recall: bench/candidates.py, a textual net that does not use autofix's model, finds every statement a rule family
could be about. A candidate is *reported* when a finding of that family (either tier, not triaged `false`) lies on
the statement's lines. A silent candidate has a row (kind `candidate`, code = the family, tier `-`) with verdict:
- `should-report`: a real instance the family's rules should have seen; `hidden_by` names the shape that hides it;
- `correctly-silent`: not an instance (not a tensor, a deliberate pattern, ...), with the reason;
- `out-of-scope`: a real write or re-wrap of a form no rule's contract covers (e.g. `p.data = t`, an assignment
  rather than an in-place write); counted apart, not in recall.
Recall of a family = reported / (reported + should-report). A candidate keeps its row once it is reported.

The list is tab-separated (corpus, path, line, code, tier, verdict, reason, kind, hidden_by); rows written before
`kind` existed are findings. Exit status 1 when a finding or a silent candidate is new (not in the list), when a
listed finding or candidate vanished, or when a row is still `untriaged`: a change in what the rules report on
real code must be looked at, not waved through.
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
from candidates import FAMILIES, Candidate, candidates, cell_path
from corpora import (
    CORPORA,
    DEFAULT_CACHE,
    REPOSITORIES,
    UNSEEN_REPOSITORIES,
    UNSEEN_WHEELS,
    corpus,
    half,
)

HALF_ORDER = ("visible", "development", "held-out")

ROOT = Path(__file__).resolve().parent.parent
FIELDS = ("corpus", "path", "line", "code", "tier", "verdict", "reason", "kind", "hidden_by")
FINDING_VERDICTS = ("true", "false")
CANDIDATE_VERDICTS = ("should-report", "correctly-silent", "out-of-scope")
Key = tuple  # (corpus, path, line, code, tier)


def findings(tree: Path, preview: bool) -> list[dict]:
    command = [sys.executable, "-m", "autofix", "--no-cache", "-q", "--format", "json", "--no-respect-gitignore", "."]
    if preview:
        command.insert(3, "--preview")
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"},
                          check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"autofix failed on {tree} (exit {done.returncode}): {done.stderr.strip()[:500]}")
    return json.loads(done.stdout or "[]")


def current_findings(name: str, tree: Path) -> dict[Key, dict]:
    """Every finding now: the default set as tier `stable`, what `--preview` adds as tier `preview`."""
    found: dict[Key, dict] = {}
    stable = {(f["path"], f["line"], f["code"]) for f in findings(tree, preview=False)}
    for finding in findings(tree, preview=True):
        path = finding["path"].removeprefix("./")
        spot = (finding["path"], finding["line"], finding["code"])
        key = (name, path, str(finding["line"]), finding["code"], "stable" if spot in stable else "preview")
        found[key] = finding
    return found


def candidate_key(name: str, candidate: Candidate) -> Key:
    return (name, candidate.path, str(candidate.line), candidate.family, "-")


def reported(candidate: Candidate, by_spot: dict[tuple[str, str], list[int]]) -> bool:
    return any(candidate.line <= line <= candidate.end_line for line in by_spot.get((candidate.path, candidate.family), ()))


def read_triage(path: Path) -> dict[Key, dict]:
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        rows = list(csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t"))
    for row in rows:
        row["kind"] = row.get("kind") or "finding"
        row["hidden_by"] = row.get("hidden_by") or ""
    return {(r["corpus"], r["path"], r["line"], r["code"], r["tier"]): r for r in rows}


def write_triage(path: Path, rows: list[dict]) -> None:
    rows.sort(key=lambda r: (r["kind"] != "finding", r["corpus"], r["path"], int(r["line"]), r["code"]))
    with path.open("w", newline="") as handle:
        handle.write("# Every finding of autofix and every silent candidate of bench/candidates.py on the pinned trees, "
                     "read and judged: see bench/real_code.py\n")
        writer = csv.DictWriter(handle, FIELDS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: r.get(k, "") for k in FIELDS} for r in rows)


def precision_table(rows: list[dict]) -> str:
    by_rule: dict[tuple[str, str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    by_half: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    for row in rows:
        by_rule[(row["code"], row["tier"], row["corpus"])][row["verdict"]] += 1
        by_half[(half(row["corpus"]), row["tier"])][row["verdict"]] += 1

    def line(first: str, tier: str, tree: str, counts: collections.Counter) -> str:
        judged = counts["true"] + counts["false"]
        precision = f"{counts['true'] / judged:.0%}" if judged else "-"
        return f"| {first} | {tier} | {tree} | {sum(counts.values())} | {counts['true']} | {counts['false']} | {precision} |"

    lines = ["| rule | tier | tree | findings | true | false | precision |", "|---|---|---|---:|---:|---:|---:|"]
    for (code, tier, tree), counts in sorted(by_rule.items(), key=lambda kv: (HALF_ORDER.index(half(kv[0][2])), kv[0])):
        lines.append(line(code, tier, tree, counts))
    for (part, tier), counts in sorted(by_half.items(), key=lambda kv: (HALF_ORDER.index(kv[0][0]), kv[0][1])):
        lines.append(line("**all**", tier, f"**{part} half**", counts))
    return "\n".join(lines)


def recall_rows(outcome: dict[Key, str], names: list[str]) -> list[tuple[str, str, collections.Counter]]:
    """(family, tree or a half's total, counts of reported / should-report / correctly-silent / out-of-scope /
    untriaged). A half's total is named `<half> half`; `all` totals every tree run."""
    counts: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    for key, state in outcome.items():
        counts[(key[3], key[0])][state] += 1
        counts[(key[3], f"{half(key[0])} half")][state] += 1
        counts[(key[3], "all")][state] += 1
    halves = [f"{part} half" for part in HALF_ORDER if any(half(name) == part for name in names)] + ["all"]
    ordered = sorted(names, key=lambda name: HALF_ORDER.index(half(name)))
    rows = []
    for family in FAMILIES:
        for tree in [*ordered, *halves]:
            rows.append((family, tree, counts.get((family, tree), collections.Counter())))
    return rows


def recall_table(outcome: dict[Key, str], names: list[str], finding_counts: dict[tuple[str, str], collections.Counter]) -> str:
    header = ("| family | tree | findings | true | candidates | reported | should-report | out-of-scope "
              "| correctly-silent | untriaged | recall |")
    lines = [header, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for family, tree, c in recall_rows(outcome, names):
        found = finding_counts.get((family, tree), collections.Counter())
        total = sum(c.values())
        denominator = c["reported"] + c["should-report"]
        recall = f"{c['reported'] / denominator:.0%}" if denominator else "-"
        if c["untriaged"] and denominator:
            recall = f"≤ {recall}"  # an upper bound until the untriaged candidates are read
        name = f"**{tree}**" if tree.endswith(" half") or tree == "all" else tree
        lines.append(f"| {family} | {name} | {sum(found.values())} | {found['true']} | {total} | {c['reported']} "
                     f"| {c['should-report']} | {c['out-of-scope']} | {c['correctly-silent']} | {c['untriaged']} "
                     f"| {recall} |")
    return "\n".join(lines)


def misses_table(rows: list[dict], outcome: dict[Key, str]) -> str:
    """Silent should-report candidates grouped by the shape that hides them; the held-out half's only counted."""
    groups: dict[tuple[str, str], list[dict]] = collections.defaultdict(list)
    held_out = 0
    for row in rows:
        key = (row["corpus"], row["path"], row["line"], row["code"], row["tier"])
        if row["kind"] == "candidate" and row["verdict"] == "should-report" and outcome.get(key) == "should-report":
            if half(row["corpus"]) == "held-out":
                held_out += 1
                continue
            groups[(row["code"], row["hidden_by"] or "?")].append(row)
    lines = ["| family | hidden by | misses | for example |", "|---|---|---:|---|"]
    for (family, shape), members in sorted(groups.items(), key=lambda kv: (kv[0][0], -len(kv[1]), kv[0][1])):
        examples = ", ".join(f"{r['corpus']} `{r['path']}:{r['line']}`" for r in members[:2])
        lines.append(f"| {family} | {shape.replace('|', chr(92) + '|')} | {len(members)} | {examples} |")
    if held_out:
        lines.append(f"| all | held-out half (not shown) | {held_out} | - |")
    return "\n".join(lines)


def parse_tree(value: str) -> tuple[str, Path]:
    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"--tree {value!r}: expected NAME=PATH")
    if not Path(path).is_dir():
        raise argparse.ArgumentTypeError(f"--tree {value!r}: {path} is not a directory")
    return name, Path(path).resolve()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--triage", type=Path, default=ROOT / "bench" / "triage.tsv")
    parser.add_argument("--docs", type=Path, help="write the per-rule precision and recall page here")
    parser.add_argument("--tree", type=parse_tree, action="append", default=[], metavar="NAME=PATH",
                        help="also run on a local copy of a repository (repeatable)")
    parser.add_argument("--only", action="append", metavar="NAME", help="run on these trees only (repeatable)")
    parser.add_argument("--update", action="store_true", help="add new rows as untriaged, drop vanished ones")
    parser.add_argument("--unseen", action="store_true",
                        help="also the unseen wheels of both halves (the unseen repositories come by --tree)")
    parser.add_argument("--half", action="append", choices=HALF_ORDER, help="run on this half's trees only (repeatable)")
    options = parser.parse_args()

    trees = {name: None for name in [*CORPORA, *(UNSEEN_WHEELS if options.unseen else ())]}
    trees.update(dict(options.tree))
    if options.only:
        trees = {name: path for name, path in trees.items() if name in options.only}
    if options.half:
        trees = {name: path for name, path in trees.items() if half(name) in options.half}
    names = list(trees)

    listed = read_triage(options.triage)
    now: dict[Key, dict] = {}
    nets: dict[Key, Candidate] = {}
    outcome: dict[Key, str] = {}  # candidate key -> reported / a verdict / untriaged
    unnetted: list[Key] = []
    for name in names:
        tree = trees[name] or corpus(options.cache_dir, name)
        found = current_findings(name, tree)
        now.update(found)
        by_spot: dict[tuple[str, str], list[int]] = collections.defaultdict(list)
        for key, finding in found.items():
            if listed.get(key, {}).get("verdict") != "false":  # a false alarm on a candidate does not report it
                by_spot[(cell_path(key[1], finding.get("cell")), key[3][:3])].append(int(key[2]))
        tree_candidates = candidates(tree)
        spans: dict[tuple[str, str], list[tuple[int, int]]] = collections.defaultdict(list)
        for candidate in tree_candidates:
            key = candidate_key(name, candidate)
            nets[key] = candidate
            outcome[key] = "reported" if reported(candidate, by_spot) else "silent"
            spans[(candidate.path, candidate.family)].append((candidate.line, candidate.end_line))
        for key, finding in found.items():
            spot = (cell_path(key[1], finding.get("cell")), key[3][:3])
            if key[3][:3] in FAMILIES and not any(a <= int(key[2]) <= b for a, b in spans.get(spot, ())):
                unnetted.append(key)

    ran = set(names)
    kept = [row for key, row in listed.items() if key[0] not in ran]  # trees not run this time: untouched
    listed_here = {key: row for key, row in listed.items() if key[0] in ran}
    finding_rows = {k: r for k, r in listed_here.items() if r["kind"] == "finding"}
    candidate_rows = {k: r for k, r in listed_here.items() if r["kind"] == "candidate"}

    new_findings = sorted(set(now) - set(finding_rows))
    vanished_findings = sorted(set(finding_rows) - set(now))
    silent = {key for key, state in outcome.items() if state == "silent"}
    new_candidates = sorted(silent - set(candidate_rows))
    vanished_candidates = sorted(set(candidate_rows) - set(nets))
    rows = kept + [finding_rows[k] for k in now if k in finding_rows]
    rows += [candidate_rows[k] for k in nets if k in candidate_rows]
    for key in new_findings:
        rows.append(dict(zip(FIELDS, (*key, "untriaged", now[key]["message"], "finding", ""))))
    for key in new_candidates:
        candidate = nets[key]
        rows.append(dict(zip(FIELDS, (*key, "untriaged", f"[{candidate.shape}] {candidate.text}", "candidate", ""))))
    for key in silent:
        row = candidate_rows.get(key)
        outcome[key] = row["verdict"] if row and row["verdict"] in CANDIDATE_VERDICTS else "untriaged"
        if row and outcome[key] == "untriaged":  # still unread: show what the net sees now
            row["reason"] = f"[{nets[key].shape}] {nets[key].text}"

    here = [r for r in rows if r["corpus"] in ran]
    untriaged = [r for r in here if r["verdict"] not in (*FINDING_VERDICTS, *CANDIDATE_VERDICTS)]
    for key in new_findings:
        print("new finding:      ", "\t".join(key), "-", now[key]["message"])
    for key in vanished_findings:
        print("vanished finding: ", "\t".join(key), "-", finding_rows[key]["reason"])
    for key in new_candidates:
        print("new silent candidate:", "\t".join(key[:4]), "-", nets[key].text)
    for key in vanished_candidates:
        print("vanished candidate:  ", "\t".join(key[:4]), "-", candidate_rows[key]["reason"][:100])
    for key, row in sorted(candidate_rows.items()):
        if outcome.get(key) == "reported" and row["verdict"] == "correctly-silent":
            print("reported, though triaged correctly-silent:", "\t".join(key[:4]), "-", row["reason"][:100])
    for key in unnetted:
        print("finding outside the candidate net:", "\t".join(key))

    finding_counts: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    for row in here:
        if row["kind"] == "finding":
            for tree in (row["corpus"], f"{half(row['corpus'])} half", "all"):
                finding_counts[(row["code"][:3], tree)][row["verdict"]] += 1
    judged = [r for r in here if r["kind"] == "finding" and r["verdict"] in FINDING_VERDICTS]
    precision = precision_table(judged)
    recall = recall_table(outcome, names, finding_counts)
    misses = misses_table(here, outcome)
    print(precision, recall, misses, sep="\n\n")
    if options.update:
        write_triage(options.triage, rows)
        print(f"wrote {options.triage}: {len(rows)} rows, {len(untriaged)} untriaged")
    if options.docs:
        write_docs(options.docs, names, here, precision, recall, misses)
    problems = new_findings or vanished_findings or new_candidates or vanished_candidates or untriaged
    if problems:
        print(f"{len(new_findings)} new and {len(vanished_findings)} vanished findings, {len(new_candidates)} new and "
              f"{len(vanished_candidates)} vanished silent candidates, {len(untriaged)} untriaged rows: "
              "read them, then update the list", file=sys.stderr)
        return 1
    return 0


def write_docs(path: Path, names: list[str], rows: list[dict], precision: str, recall: str, misses: str) -> None:
    stable_false = sum(1 for r in rows if r["kind"] == "finding" and r["tier"] == "stable" and r["verdict"] == "false")
    total = sum(1 for r in rows if r["kind"] == "finding")
    sources = []
    for name in names:
        if name in CORPORA or name in UNSEEN_WHEELS:
            sources.append(f"`{CORPORA.get(name) or UNSEEN_WHEELS[name]}` (wheel, {half(name)})")
        elif name in REPOSITORIES or name in UNSEEN_REPOSITORIES:
            repository, commit = REPOSITORIES.get(name) or UNSEEN_REPOSITORIES[name]
            sources.append(f"{repository} at {commit[:12]} (`{name}`, {half(name)})")
        else:
            sources.append(f"`{name}` (local tree, {half(name)})")
    command = "python bench/real_code.py " + " ".join(
        f"--tree {name}=PATH" for name in names if name not in CORPORA and name not in UNSEEN_WHEELS) + (
        " --unseen" if any(name in UNSEEN_WHEELS for name in names) else "") + " --docs docs/real-code.md"
    path.write_text(
        "# Precision and recall on real code\n\n"
        f"`{command}` runs autofix (default rules, then `--preview`) on {', '.join(sources)}. The wheels are "
        "downloaded by `bench/corpora.py`; the repositories are local copies of their `.py`/`.ipynb` files at the "
        "commit named, kept outside this repository (for example `git --git-dir=<mirror> archive <commit> <paths> | "
        "tar -x -C /work/trees/<name>`). It compares every "
        "finding with `bench/triage.tsv`, where each one was read and judged true (a real problem) or false (a false "
        "alarm), with a one-line reason, and does the same for every candidate statement of `bench/candidates.py` "
        "that no finding matches. The run fails on any finding or silent candidate that is new or vanished, and on "
        "any row not yet triaged.\n\n"
        "Each tree belongs to a half (`bench/corpora.py`): `visible`, the trees the rules were developed on; "
        "`development` and `held-out`, trees nobody here had read when they were added, split at random before any "
        "rule work. Rules are developed on the visible and development trees only; the held-out trees are run but "
        "not read until the end, so their misses are only counted. Each table totals the halves separately.\n\n"
        "## Precision\n\n"
        f"{total} findings; false alarms in the default set: **{stable_false}**.\n\n{precision}\n\n"
        "## Recall\n\n"
        "The candidate net is textual (Python's `ast`, nothing of autofix's model): per family it finds every "
        "statement a rule could be about. GF1: writes through `.data`/`.detach()` (in-place methods, `[...] =`, "
        "augmented and plain assignment, `nn.init.*_(x.data)`, `out=x.data`). GF2: re-wraps (`torch.tensor(`/"
        "`Variable(` of a computed value, `requires_grad=True` on one) and every `backward()`. GF3: in-place writes "
        "in a `forward` or a function of the file it calls. GF4: every `backward()`, with the `step()` and "
        "`zero_grad()` calls around it. A candidate is reported when a finding of its family lies on its lines; "
        "each silent one was read: `should-report` (a real instance the rules miss), `correctly-silent` (with the "
        "reason), or `out-of-scope` (real, but of a form no rule's contract covers, such as `p.data = t`). "
        "Recall = reported / (reported + should-report); while candidates of a family are still untriaged it is "
        "only an upper bound (`≤`). `findings`/`true` are the family's findings and how many were judged true.\n\n"
        f"{recall}\n\n"
        "## What the misses have in common\n\n"
        "Silent `should-report` candidates by the shape that hides them from the model (`hidden_by` in the list).\n\n"
        f"{misses}\n"
    )


if __name__ == "__main__":
    sys.exit(main())
