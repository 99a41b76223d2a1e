"""bench/bug_reports.py's accounting, run as a script on snippets written here (the real corpus lives outside)."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from bug_reports import draw_half

# A weight rebound under no_grad (GF505 reports it at line 6), a loss taken through argmax (no rule covers it), and
# a correct loop.
SNIPPETS = {
    "t-rebound": textwrap.dedent("""\
        import torch
        w = torch.zeros(3, requires_grad=True)
        loss = (w * 2).sum()
        loss.backward()
        with torch.no_grad():
            w = w - 0.1 * w.grad
    """),
    "t-argmax": textwrap.dedent("""\
        import torch
        logits = torch.randn(4, 3, requires_grad=True)
        pred = logits.argmax(dim=1).float()
        loss = (pred - 1).pow(2).mean()
    """),
    "t-correct": textwrap.dedent("""\
        import torch
        model = torch.nn.Linear(3, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for x, y in [(torch.randn(2, 3), torch.randn(2, 1))]:
            optimizer.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            optimizer.step()
    """),
}
LABELS = [("t-rebound", "rebound-update", "GF505", "6"), ("t-argmax", "argmax-in-loss", "-", "3"),
          ("t-correct", "correct", "-", "-")]


def write_corpus(tmp_path: Path, half_of=draw_half) -> tuple[Path, Path]:
    snippets = tmp_path / "snippets"
    snippets.mkdir()
    rows = ["id\turl\thalf\tkind\tcode\tline\tsha256"]
    for snippet_id, kind, code, line in LABELS:
        data = SNIPPETS[snippet_id].encode()
        (snippets / f"{snippet_id}.py").write_bytes(data)
        rows.append("\t".join([snippet_id, "https://example.org", half_of(snippet_id), kind, code, line,
                               hashlib.sha256(data).hexdigest()]))
    labels = tmp_path / "labels.tsv"
    labels.write_text("\n".join(rows) + "\n")
    return snippets, labels


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench" / "bug_reports.py"), *args], capture_output=True,
                          text=True, timeout=300, check=False)


def test_scores_each_half_from_the_labels(tmp_path):
    snippets, labels = write_corpus(tmp_path)
    out = tmp_path / "out.json"
    done = run("--snippets", str(snippets), "--labels", str(labels), "--json", str(out))
    assert done.returncode == 0, done.stderr
    results = {r["half"]: r for r in json.loads(out.read_text())}
    expected = {half: {"bugs": 0, "at_line": 0, "correct": 0} for half in ("development", "held-out")}
    for snippet_id, kind, _, _ in LABELS:
        counts = expected[draw_half(snippet_id)]
        counts["correct" if kind == "correct" else "bugs"] += 1
        counts["at_line"] += snippet_id == "t-rebound"
    for half, counts in expected.items():
        assert results[half]["bugs"] == counts["bugs"]
        assert results[half]["reported_at_line"] == counts["at_line"]
        assert results[half]["with_expected_code"] == counts["at_line"]
        assert results[half]["correct_snippets"] == counts["correct"]
        assert results[half]["findings_on_correct"] == 0
        assert results[half]["errors"] == []
    assert "Development half, per kind" in done.stdout


def test_refuses_a_snippet_whose_text_changed(tmp_path):
    snippets, labels = write_corpus(tmp_path)
    (snippets / "t-argmax.py").write_text("x = 1\n")
    done = run("--snippets", str(snippets), "--labels", str(labels))
    assert done.returncode != 0
    assert "t-argmax.py: its text is not the one labelled" in done.stderr


def test_refuses_a_half_that_was_not_drawn(tmp_path):
    flipped = {"development": "held-out", "held-out": "development"}
    snippets, labels = write_corpus(tmp_path, half_of=lambda snippet_id: flipped[draw_half(snippet_id)])
    done = run("--snippets", str(snippets), "--labels", str(labels))
    assert done.returncode != 0
    assert "is not the one drawn for it" in done.stderr
