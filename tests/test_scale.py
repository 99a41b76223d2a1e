"""Monorepo use: .gitignore, --changed-since, the cache, parallel and Ray executors, interactive review, the
markdown report. All through the installed CLI."""
from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time

import pytest

from autofix import cache as cache_module
from autofix.registry import all_rules
from autofix.rule import Invalid, Valid
from autofix.semantic.index import SUMMARY_LAYOUT
from conftest import autofix_command, run

BUGGY = b"import torch\n\n\ndef init(m: torch.nn.Linear):\n    m.weight.data.normal_(0.0, 0.02)\n"
FIXED = b"import torch\n\n\ndef init(m: torch.nn.Linear):\n    with torch.no_grad():\n        m.weight.normal_(0.0, 0.02)\n"


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd, check=True,
                   capture_output=True)


def generated_tree(root, copies: int = 3):
    """A few hundred files: every rule example (buggy and clean), in nested packages, plus broken files."""
    examples = [e for rule in all_rules() for e in rule.examples if isinstance(e, (Valid, Invalid))]
    count = 0
    for copy in range(copies):
        for index, example in enumerate(examples):
            write(root / f"pkg{copy % 4}" / f"sub{copy}" / f"m{index:03d}.py", example.code.encode())
            count += 1
    write(root / "pkg0" / "broken.py", b"def f(:\n")
    return count + 1


# --- discovery ---------------------------------------------------------------------------------------------

def test_gitignore_and_info_exclude_are_respected_unless_asked(tmp_path):
    git(tmp_path, "init", "-q")
    write(tmp_path / ".gitignore", b"build_out/\n*_generated.py\n")
    write(tmp_path / ".git" / "info" / "exclude", b"scratch.py\n")
    write(tmp_path / "src" / ".gitignore", b"/local_only.py\n!keep_generated.py\n")
    for name in ("src/a.py", "build_out/b.py", "src/x_generated.py", "src/keep_generated.py", "scratch.py",
                 "src/local_only.py", "src/deeper/local_only.py"):
        write(tmp_path / name, BUGGY)
    result = run(["."], tmp_path)
    reported = sorted({line.split(":")[0] for line in result.stdout.decode().splitlines() if ": GF" in line})
    assert reported == ["./src/a.py", "./src/deeper/local_only.py", "./src/keep_generated.py"]
    everything = run([".", "--no-respect-gitignore"], tmp_path)
    assert len({line.split(":")[0] for line in everything.stdout.decode().splitlines() if ": GF" in line}) == 7


def test_changed_since_limits_files_and_lines(tmp_path):
    git(tmp_path, "init", "-q")
    write(tmp_path / "old.py", BUGGY)
    write(tmp_path / "touched.py", BUGGY)
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    # One new buggy line in a file whose old bug stays as it was, and a new untracked file.
    write(tmp_path / "touched.py", BUGGY + b"\n\ndef again(m: torch.nn.Linear):\n    m.bias.data.zero_()\n")
    write(tmp_path / "new.py", BUGGY)
    files = run([".", "--changed-since", "HEAD"], tmp_path).stdout.decode()
    assert "old.py" not in files and "./touched.py:5:5" in files and "./touched.py:9:5" in files
    assert "./new.py:5:5" in files
    lines = run([".", "--changed-since", "HEAD", "--changed-lines-only"], tmp_path).stdout.decode()
    assert "./touched.py:5:5" not in lines and "./touched.py:9:5" in lines and "./new.py:5:5" in lines
    bad = run([".", "--changed-since", "no-such-rev"], tmp_path)
    assert bad.returncode == 2 and bad.stderr.decode().count("\n") == 1
    assert bad.stderr.decode().startswith("error: --changed-since no-such-rev:")


# --- the cache -----------------------------------------------------------------------------------------------

def _tamper(root):
    """Rewrite every cached message, so that a later run shows whether it read the cache (the project index's
    summaries, cached beside the results, hold no messages)."""
    for entry in (root / ".autofix_cache").rglob("*.json"):
        if SUMMARY_LAYOUT in entry.parts:
            continue
        data = json.loads(entry.read_text())
        for finding in data["findings"]:
            finding["message"] = "FROM-CACHE"
        entry.write_text(json.dumps(data))


def test_cache_hits_and_each_kind_of_invalidation(tmp_path, monkeypatch):
    write(tmp_path / "a.py", BUGGY)
    write(tmp_path / "pyproject.toml", b"[tool.autofix]\nselect = ['GF1']\n")
    first = run(["a.py"], tmp_path)
    assert first.returncode == 1 and "FROM-CACHE" not in first.stdout.decode()
    assert (tmp_path / ".autofix_cache" / ".gitignore").read_text().endswith("*\n")
    _tamper(tmp_path)
    assert "FROM-CACHE" in run(["a.py"], tmp_path).stdout.decode(), "an unchanged file was not served from the cache"
    assert "FROM-CACHE" not in run(["a.py", "--no-cache"], tmp_path).stdout.decode()

    write(tmp_path / "a.py", BUGGY + b"# edited\n")  # content changed
    assert "FROM-CACHE" not in run(["a.py"], tmp_path).stdout.decode()
    _tamper(tmp_path)
    # A configuration change that could change results (here, it happens not to): a new key.
    write(tmp_path / "pyproject.toml", b"[tool.autofix]\nselect = ['GF1']\nmax-file-size = 2000000\n")
    assert "FROM-CACHE" not in run(["a.py"], tmp_path).stdout.decode()
    _tamper(tmp_path)
    assert "FROM-CACHE" not in run(["a.py", "--select", "GF101"], tmp_path).stdout.decode()  # other rules

    # A new autofix build: its fingerprint (version and sources) is part of every key.
    before = cache_module.Cache(tmp_path, "conf").key("digest", ("GF101",))
    cache_module.tool_fingerprint.cache_clear()
    monkeypatch.setattr(cache_module, "__version__", "999.0")
    try:
        assert cache_module.Cache(tmp_path, "conf").key("digest", ("GF101",)) != before
    finally:
        cache_module.tool_fingerprint.cache_clear()


def test_no_cache_writes_no_cache_and_a_fix_run_refreshes_it(tmp_path):
    write(tmp_path / "a.py", BUGGY)
    run(["a.py", "--no-cache"], tmp_path)
    assert not (tmp_path / ".autofix_cache").exists()
    assert run(["--fix", "a.py"], tmp_path).returncode == 0
    assert (tmp_path / "a.py").read_bytes() == FIXED
    again = run(["a.py"], tmp_path)
    assert again.returncode == 0 and again.stdout.decode().startswith("All checks passed!")


# --- executors -------------------------------------------------------------------------------------------

def _snapshot(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.py"))}


def test_parallel_output_and_fixes_are_identical_to_serial(tmp_path):
    for name in ("serial", "parallel"):
        generated_tree(tmp_path / name)
    outputs = {}
    for name, jobs in (("serial", "1"), ("parallel", "2")):
        result = run(["--jobs", jobs, "--no-cache", "--format", "json", "."], tmp_path / name)
        assert result.returncode == 2  # the broken file
        outputs[name] = [{k: v for k, v in row.items() if k != "filename"} for row in json.loads(result.stdout)]
        assert run(["--jobs", jobs, "--no-cache", "--fix", "."], tmp_path / name).returncode == 2
    assert outputs["serial"] == outputs["parallel"] and len(outputs["serial"]) > 100
    assert _snapshot(tmp_path / "serial") == _snapshot(tmp_path / "parallel")


def test_ray_executor_is_identical_to_the_local_one(tmp_path):
    pytest.importorskip("ray")
    for name in ("local", "ray"):
        files = generated_tree(tmp_path / name)
    assert files >= 300
    results = {}
    for name, extra in (("local", []), ("ray", ["--executor", "ray"])):
        checked = run([*extra, "--no-cache", "--format", "json", "."], tmp_path / name)
        diff = run([*extra, "--no-cache", "--diff", "."], tmp_path / name)
        fixed = run([*extra, "--no-cache", "--fix", "."], tmp_path / name)
        assert checked.returncode == diff.returncode == fixed.returncode == 2, fixed.stderr.decode()
        rows = [{k: v for k, v in row.items() if k != "filename"} for row in json.loads(checked.stdout)]  # absolute
        results[name] = (rows, diff.stdout, fixed.stdout, fixed.stderr)
    assert results["local"] == results["ray"]
    assert _snapshot(tmp_path / "local") == _snapshot(tmp_path / "ray")
    assert results["local"][1].count(b"\n+++ b/") + results["local"][1].startswith(b"+++") >= 50


# --- review workflow -----------------------------------------------------------------------------------------

TWO_HUNKS = BUGGY + b"\n" * 12 + b"\ndef later(m: torch.nn.Linear):\n    m.bias.data.zero_()\n"


def _interact(cwd, args, answers: list[bytes], timeout: float = 60.0) -> tuple[int, bytes]:
    """Run the CLI on a pseudo-terminal, answering each prompt in turn."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal is its stdin and stdout
        os.chdir(cwd)
        os.environ["NO_COLOR"] = "1"
        os.execv(autofix_command()[0], [*autofix_command(), *args])
    output = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if pending and output.count(b"Apply this hunk") > len(answers) - len(pending):
            os.write(fd, pending.pop(0) + b"\n")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output


def test_interactive_review_applies_only_accepted_hunks(tmp_path):
    path = write(tmp_path / "two.py", TWO_HUNKS)
    code, output = _interact(tmp_path, ["--interactive", "two.py"], [b"y", b"n"])
    assert b"(hunk 1 of 2)" in output and b"(hunk 2 of 2)" in output
    assert b"Applied 1 of 2 hunks in 1 file." in output
    assert code == 1  # a finding is left
    text = path.read_bytes()
    assert b"with torch.no_grad():\n        m.weight.normal_" in text and b"m.bias.data.zero_()" in text


def test_interactive_all_and_quit(tmp_path):
    path = write(tmp_path / "two.py", TWO_HUNKS)
    code, output = _interact(tmp_path, ["--interactive", "two.py"], [b"a"])
    assert code == 0 and b"Applied 2 of 2 hunks" in output and b"(hunk 2 of 2)" not in output
    assert b".data" not in path.read_bytes()
    path = write(tmp_path / "two.py", TWO_HUNKS)
    code, output = _interact(tmp_path, ["--interactive", "two.py"], [b"q"])
    assert b"Quit early." in output and path.read_bytes() == TWO_HUNKS


def test_interactive_refuses_without_a_terminal(tmp_path):
    write(tmp_path / "a.py", BUGGY)
    result = run(["--interactive", "a.py"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().strip().startswith("error: --interactive needs a terminal")
    assert (tmp_path / "a.py").read_bytes() == BUGGY


def test_markdown_migration_report(tmp_path):
    write(tmp_path / "a.py", TWO_HUNKS)
    write(tmp_path / "b.py", b"import torch\nfor p in model.parameters():\n    p.require_grad = False\n")
    write(tmp_path / "c.py", b"x = 1\n")
    result = run(["--fix", "--output-format", "markdown", "."], tmp_path)
    report = result.stdout.decode()
    assert report.startswith("## autofix migration report\n\n3 files checked, 2 files with findings, 2 files fixed, 0 errors.")
    assert "| GF101 | detached-inplace-write | 1 | 2 | 2 | 0 |" in report
    assert "| GF501 | require-grad-typo | 1 | 1 | 1 | 0 |" in report
    assert "### `./a.py`" in report and "- [x] line 5: **GF101**" in report and "```diff\n--- a/./a.py" in report
    assert "c.py" not in report


def test_statistics_table(tmp_path):
    write(tmp_path / "a.py", TWO_HUNKS)
    result = run(["--statistics", "-q", "a.py"], tmp_path)
    lines = result.stdout.decode().splitlines()
    assert any(line.split() == ["GF101", "detached-inplace-write", "1", "2", "0", "0"] for line in lines), lines
    assert lines[-1] == "1 files checked, 0 with errors"
