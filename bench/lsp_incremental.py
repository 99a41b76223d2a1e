"""Does the language server's partial check agree with a check of the whole text, edit after edit?

    python bench/lsp_incremental.py [PATHS...] [--edits 6] [--seed 0] [--always-partial] [--half even|odd|all]

For each file (by default: the examples, snapshots, real-bug reproductions and test data of this repository,
every rule's examples and scenarios, and two generated modules of bench/lsp_latency.py; with PATHS, the .py files
under them, only the `--half` of them whose path hashes even or odd, so that a held-out half is never read), it
checks the text in full (and in pieces, as the server does after a pause: the same findings and quick fixes?),
then makes --edits random one-line edits (delete, duplicate, insert a blank line, swap
two lines), and compares the server's partial check of each edited text (`analysis.analyse_edit`, which checks
only the chunks the edit can change) with a full check of it (`analysis.analyse`). `--always-partial` lifts the
limit past which the server checks the whole text anyway, so that every edit goes through the partial path.

It prints each disagreement and a summary line; the exit code is 1 when there was one. A development check of
`autofix/server/incremental.py`, too slow for the test suite (which has one server-level case of each kind).
"""
from __future__ import annotations

import argparse
import hashlib
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from autofix.config import Settings
from autofix.registry import all_rules
from autofix.server import analysis, incremental


def repository_texts() -> list[tuple[str, str]]:
    import lsp_latency

    texts = []
    for folder in ("examples", "snapshots", "tests/real_bugs", "tests/data"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            texts.append((str(path.relative_to(ROOT)), path.read_text(errors="replace")))
    for rule in all_rules():
        texts += [(f"{rule.code} example {n}", example.code) for n, example in enumerate(rule.examples)]
        texts += [(f"{rule.code} scenario {scenario.name}", scenario.source) for scenario in rule.scenarios]
    texts.append(("lsp_latency.module(600)", lsp_latency.module(600)))
    texts.append(("lsp_latency.module(400, 'loops')", lsp_latency.module(400, "loops")))
    return texts


def tree_texts(paths: list[str], half: str) -> list[tuple[str, str]]:
    texts = []
    for given in paths:
        files = [Path(given)] if Path(given).is_file() else sorted(Path(given).rglob("*.py"))
        for path in files:
            if half != "all" and hashlib.sha256(str(path).encode()).digest()[0] % 2 != (half == "odd"):
                continue
            try:
                texts.append((str(path), path.read_text()))
            except (OSError, UnicodeDecodeError):
                continue
    return texts


def edits(text: str, count: int, rng: random.Random):
    lines = text.split("\n")
    for _ in range(count):
        n = rng.randrange(len(lines))
        kind = rng.choice(("delete", "duplicate", "blank", "swap"))
        new = list(lines)
        if kind == "delete":
            del new[n]
        elif kind == "duplicate":
            new.insert(n, new[n])
        elif kind == "blank":
            new.insert(n, "")
        elif n + 1 < len(new):
            new[n], new[n + 1] = new[n + 1], new[n]
        yield f"{kind} line {n + 1}", "\n".join(new)


def fixed_texts(text: str, checked: analysis.Analysis) -> list:
    """Each finding's own fix (safe and unsafe), as the text it gives."""
    from autofix import engine
    from autofix.rule import Applicability

    try:
        fixed, errors = engine.fix_each(text, [r.finding for r in checked.results], "/nonexistent/module.py",
                                        frozenset({Applicability.SAFE, Applicability.UNSAFE}))
    except engine.ParseFailure:
        return ["LibCST cannot parse it"]
    return [(finding.code, finding.line, new) for finding, new in fixed] + errors


def keys(checked: analysis.Analysis) -> list:
    return [(r.finding.code, r.finding.message, r.place) for r in checked.results]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--edits", type=int, default=6, help="random edits per file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--always-partial", action="store_true")
    parser.add_argument("--half", choices=("even", "odd", "all"), default="even")
    args = parser.parse_args()
    if args.always_partial:
        incremental.MOST = float("inf")
    texts = tree_texts(args.paths, args.half) if args.paths else repository_texts()
    settings = Settings(root=Path("/nonexistent"))  # the defaults; no project index (the path is not a file)
    rng = random.Random(args.seed)
    total = partial = wrong = 0
    checked_lines = all_lines = 0
    for name, text in texts:
        path = "/nonexistent/module.py"
        first = analysis.analyse([text], path, settings)
        summaries = incremental.Summaries()
        before = analysis.chunked(first, summaries) if first.error is None else None
        if before is None:
            continue
        for what, new in edits(text, args.edits, rng):
            full = analysis.analyse([new], path, settings)
            if full.error is not None:
                continue
            total += 1
            edited = analysis.analyse_edit(before, new, path, settings, summaries)
            if edited is None:
                continue
            partial += 1
            chunks = edited.chunks.chunks
            checked_lines += sum(chunks[i].lines for i in edited.chunks.checked)
            all_lines += sum(chunk.lines for chunk in chunks)
            if keys(edited) != keys(full):
                wrong += 1
                only_partial = [k for k in keys(edited) if k not in keys(full)]
                only_full = [k for k in keys(full) if k not in keys(edited)]
                print(f"DISAGREE {name}, {what}: partial only {only_partial[:2]}, full only {only_full[:2]}")
    # The whole check after a pause, made of pieces (groups of linked chunks): the same findings, and the same
    # quick fix for each, as one check of the whole text.
    pieces = pieces_wrong = 0
    for name, text in texts:
        path = "/nonexistent/module.py"
        whole = analysis.analyse([text], path, settings)
        if whole.error is not None:
            continue
        made = analysis.Pieces(text, path, settings, incremental.Summaries())
        made.LINES = 1  # as many pieces as the file has groups of linked chunks
        made.groups = incremental.pieces(made.chunks, 1) if made.chunks is not None else None
        for _ in made.steps():
            pass
        result = made.result()
        if result is None:
            continue
        pieces += 1
        fixes = [fixed_texts(text, checked) for checked in (result, whole)]
        if keys(result) != keys(whole) or fixes[0] != fixes[1]:
            pieces_wrong += 1
            print(f"DISAGREE {name}, checked in {len(made.groups)} pieces: findings "
                  f"{'differ' if keys(result) != keys(whole) else 'agree'}, fixes differ: {fixes[0] != fixes[1]}")
    print(f"{pieces} files checked whole in pieces, {pieces_wrong} disagreements")
    wrong += pieces_wrong
    share = checked_lines / all_lines if all_lines else 0.0
    print(f"{len(texts)} files, {total} edits that parse, {partial} checked in part "
          f"({share:.0%} of their lines checked), {wrong} disagreements")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
