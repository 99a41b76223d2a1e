"""Real-world shapes, run through the installed CLI: the diff and the fixed file are snapshots to review."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import DATA, SNAPSHOTS, run

FIXTURES = sorted(p.name for p in DATA.glob("*.py"))
MUST_NOT_CHANGE = {"must_not_change.py"}


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture(name, tmp_path, snapshot):
    work = tmp_path / name
    shutil.copyfile(DATA / name, work)
    original = work.read_bytes()

    diff = run(["--diff", name], cwd=tmp_path)
    assert diff.returncode == (0 if name in MUST_NOT_CHANGE else 1), diff.stderr.decode()
    assert work.read_bytes() == original, "--diff must not write"

    fixed = run(["--fix", name], cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout.decode() + fixed.stderr.decode()
    after = work.read_bytes()

    if name in MUST_NOT_CHANGE:
        assert diff.stdout == b"" and after == original
    else:
        # The patch --diff printed is exactly what --fix wrote: git apply turns the original into it.
        check = tmp_path / "check"
        check.mkdir()
        (check / name).write_bytes(original)
        (check / "fix.patch").write_bytes(diff.stdout)
        subprocess.run(["git", "init", "-q"], cwd=check, check=True)
        applied = subprocess.run(["git", "apply", "fix.patch"], cwd=check, capture_output=True)
        assert applied.returncode == 0, applied.stderr.decode()
        assert (check / name).read_bytes() == after
        if b"\r\n" in original:
            assert after.count(b"\n") == after.count(b"\r\n"), "CRLF endings must stay CRLF"

    assert run([name], cwd=tmp_path).returncode == 0, "a second run finds nothing"
    snapshot.snapshot_dir = SNAPSHOTS / "fixtures"
    if name not in MUST_NOT_CHANGE:  # for those, `after == original` is asserted above and the diff is empty
        snapshot.assert_match(diff.stdout, f"{name}.diff")
        snapshot.assert_match(after, name)
