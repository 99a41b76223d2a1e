"""A file whose fixes would take more memory than one file may take (autofix/memory.py) is still checked, its
findings reported, and its fixes not rendered, with one warning line naming the file. The budget is set small
here (AUTOFIX_MEMORY_BUDGET) so that a small file stands in for a huge one."""
from __future__ import annotations

from conftest import run

BUGGY = "import torch\n\n\ndef init(m: torch.nn.Linear):\n    m.weight.data.normal_(0.0, 0.02)\n"


def test_fixes_over_the_memory_budget_are_not_rendered_and_the_findings_remain(tmp_path):
    (tmp_path / "big.py").write_text(BUGGY)
    small = {"AUTOFIX_MEMORY_BUDGET": "1000"}
    fixed = run(["check", "big.py", "--fix", "--no-cache"], tmp_path, env=small)
    assert fixed.returncode == 1
    assert (tmp_path / "big.py").read_text() == BUGGY
    assert fixed.stdout.decode().startswith("big.py:5:5: GF101 [*] ")
    [warning] = fixed.stderr.decode().splitlines()
    assert warning.startswith("warning: big.py: fixes not rendered: rendering them would take about ")
    diff = run(["check", "big.py", "--diff", "--no-cache"], tmp_path, env=small)
    assert diff.stdout == b""
    # Nothing of the refusal is cached: with memory to spare, the next run fixes the file.
    assert run(["check", "big.py", "--fix"], tmp_path, env=small).returncode == 1
    assert run(["check", "big.py", "--fix"], tmp_path).returncode == 0
    assert "with torch.no_grad():" in (tmp_path / "big.py").read_text()
