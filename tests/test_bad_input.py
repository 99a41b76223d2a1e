"""Every kind of bad input: one clear line naming the file and the reason, exit code 2, every other file still
checked and fixed, and nothing lost or corrupted. Each case runs the installed CLI."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import autofix_command, run

from autofix import executor, runner, source
from autofix.config import Settings
from autofix.registry import all_rules
from autofix.rule import Applicability

BUGGY = b"import torch\n\n\ndef init(m: torch.nn.Linear):\n    m.weight.data.normal_(0.0, 0.02)\n"
FIXED = b"import torch\n\n\ndef init(m: torch.nn.Linear):\n    with torch.no_grad():\n        m.weight.normal_(0.0, 0.02)\n"

# name -> (content, the reason its error line must give)
BROKEN = {
    "syntax.py": (b"import torch\ndef f(:\n    m.weight.data.zero_()\n", "syntax error at 2:7"),
    "python2.py": (b"import torch\nprint 'hello'\nm.weight.data.zero_()\n", "syntax error at 2:1: Missing parentheses"),
    "not_utf8.py": (b"import torch\ns = '\xff\xfe'\nm.weight.data.zero_()\n", "cannot decode as utf-8"),
    "binary.py": (b"\x7fELF\x02\x01\x01\x00\x00\x00m.weight.data.zero_()", "binary file (contains NUL bytes)"),
    "deep.py": (b"import torch\nm.weight.data.zero_()\nx = " + b" + ".join([b"1"] * 30000) + b"\n",
                "too deeply nested to parse"),
    "huge.py": (b"import torch\nm.weight.data.zero_()\n" + b"x = 1  # padding to go over max-file-size\n" * 260_000,
                "MiB is over max-file-size (1.0 MiB), so it was not checked"),
}

# name -> (content, what `--fix` must make of it): valid files in unusual shapes
ODD_BUT_VALID = {
    "latin1.py": (b"# -*- coding: latin-1 -*-\nimport torch\nimport torch.nn as nn\ns = 'caf\xe9'\nm = nn.Linear(2, 2)\n"
                  b"m.weight.detach().zero_()\n",
                  b"# -*- coding: latin-1 -*-\nimport torch\nimport torch.nn as nn\ns = 'caf\xe9'\nm = nn.Linear(2, 2)\n"
                  b"with torch.no_grad():\n    m.weight.zero_()\n"),
    "bom.py": (b"\xef\xbb\xbf" + BUGGY, b"\xef\xbb\xbf" + FIXED),
    "crlf.py": (BUGGY.replace(b"\n", b"\r\n"), FIXED.replace(b"\n", b"\r\n")),
    "mixed.py": (b"import torch\r\n\ndef init(m: torch.nn.Linear):\r\n    m.weight.data.normal_(0.0, 0.02)\n",
                 # a line the fix adds takes the file's first line ending; existing lines keep their own
                 b"import torch\r\n\ndef init(m: torch.nn.Linear):\r\n    with torch.no_grad():\r\n        m.weight.normal_(0.0, 0.02)\n"),
    "formfeed_tabs.py": (b"import torch\n\x0c\ndef init(m: torch.nn.Linear):\n\tm.weight.data.normal_(0.0, 0.02)\n",
                         # the new block is indented the way the file indents: with a tab
                         b"import torch\n\x0c\ndef init(m: torch.nn.Linear):\n\twith torch.no_grad():\n\t\tm.weight.normal_(0.0, 0.02)\n"),
    "empty.py": (b"", b""),
    "big_but_clean.py": (b"x = 1  # no rule can fire in this file\n" * 300_000, None),
}


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_each_broken_file_is_one_line_and_the_others_are_still_fixed(tmp_path):
    for name, (data, _) in {**BROKEN, **ODD_BUT_VALID}.items():
        write(tmp_path / "src" / name, data)
    write(tmp_path / "src" / "good.py", BUGGY)
    started = time.monotonic()
    checked = run(["src", "--no-cache"], tmp_path)
    assert time.monotonic() - started < 120  # a hang is a failure too (generous: this is not a benchmark)
    assert checked.returncode == 2
    errors = checked.stderr.decode().splitlines()
    assert "Traceback" not in checked.stderr.decode()
    assert len(errors) == len(BROKEN), errors
    for name, (_, reason) in BROKEN.items():
        line = next(e for e in errors if e.startswith(f"error: src/{name}: "))
        assert reason in line, line
    assert "src/good.py:5:5: GF102" in checked.stdout.decode() or "src/good.py:5:5: GF101" in checked.stdout.decode()

    fixed = run(["src", "--fix", "--no-cache"], tmp_path)
    assert fixed.returncode == 2
    assert (tmp_path / "src" / "good.py").read_bytes() == FIXED
    for name, (data, _) in BROKEN.items():
        assert (tmp_path / "src" / name).read_bytes() == data, f"{name} was changed"
    for name, (data, after) in ODD_BUT_VALID.items():
        assert (tmp_path / "src" / name).read_bytes() == (data if after is None else after), name
    assert not list((tmp_path / "src").glob(".autofix-*")), "a temporary file was left behind"


def test_symlink_loop_is_reported_and_not_followed(tmp_path):
    write(tmp_path / "src" / "a.py", BUGGY)
    os.symlink("..", tmp_path / "src" / "up")
    result = run(["src"], tmp_path)
    assert result.returncode == 1  # a warning does not make the run fail; the finding does
    err = result.stderr.decode()
    # src/up is the project folder, so src/up/src is src again: the walk stops there, with a warning
    assert err.strip() == "warning: src/up/src: symbolic link to a directory already visited (a loop?); not followed"
    assert result.stdout.decode().count("src/a.py:5:5:") == 1


def test_broken_symlink_and_missing_path(tmp_path):
    write(tmp_path / "a.py", BUGGY)
    os.symlink("nowhere.py", tmp_path / "dangling.py")
    result = run(["a.py", "dangling.py", "missing.py"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [
        "error: dangling.py: broken symbolic link",
        "error: missing.py: no such file or directory",
    ]
    assert "a.py:5:5:" in result.stdout.decode()


def test_broken_symlink_inside_a_directory_is_one_line(tmp_path):
    write(tmp_path / "src" / "a.py", BUGGY)
    os.symlink("nowhere.py", tmp_path / "src" / "dangling.py")
    result = run(["src"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == ["error: src/dangling.py: No such file or directory"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path):
    write(tmp_path / "a.py", BUGGY).chmod(0)
    result = run(["a.py"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().strip() == "error: a.py: Permission denied"


def test_read_only_file_under_fix_is_not_written(tmp_path):
    path = write(tmp_path / "ro.py", BUGGY)
    path.chmod(0o444)
    other = write(tmp_path / "rw.py", BUGGY)
    result = run(["--fix", "."], tmp_path)
    assert result.returncode == 2
    assert "error: ./ro.py: not written: file is read-only; not overwritten" in result.stderr.decode()
    assert path.read_bytes() == BUGGY and other.read_bytes() == FIXED
    assert "./ro.py:5:5:" in result.stdout.decode()  # still reported: it was not fixed


def test_a_file_changed_by_someone_else_before_the_write_is_not_overwritten(tmp_path, monkeypatch):
    path = write(tmp_path / "a.py", BUGGY)
    theirs = b"# edited by a colleague meanwhile\n" + BUGGY
    real_check = runner.check_text

    def check_while_someone_edits(*args, **kwargs):
        outcome = real_check(*args, **kwargs)
        path.write_bytes(theirs)
        return outcome

    monkeypatch.setattr(runner, "check_text", check_while_someone_edits)
    job = runner.Job(all_rules(), Settings(root=tmp_path), frozenset({Applicability.SAFE}), write=True)
    (outcome,) = executor.run([str(path)], job, executor.LocalExecutor(1))
    assert outcome.error == "not written: file changed on disk while autofix was running; not overwritten"
    assert path.read_bytes() == theirs


def test_a_directory_without_python_files(tmp_path):
    (tmp_path / "docs").mkdir()
    write(tmp_path / "docs" / "readme.txt", b"hello\n")
    result = run(["docs"], tmp_path)
    assert result.returncode == 0
    assert result.stderr.decode().strip() == "warning: no Python files found under the given paths"


def _interrupt_a_fix_run(folder, signum, count):
    """Start `--fix` over `count` buggy files, signal it once some are fixed; None if it had already finished."""
    for index in range(count):
        write(folder / "src" / f"m{index:03d}.py", BUGGY)
    process = subprocess.Popen(
        [*autofix_command(), "--fix", "--jobs", "1", "src"], cwd=folder,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"},
        # Ctrl-C as a terminal delivers it: a suite started in the background (`cmd &`, nohup) passes SIGINT
        # on as ignored, and a process that inherits an ignored SIGINT rightly never sees it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # interrupt once some files are written, but not all
        done = sum((folder / "src" / f"m{i:03d}.py").read_bytes() == FIXED for i in range(0, count, 20))
        if done >= 2:
            break
        time.sleep(0.05)
    if process.poll() is not None:  # it finished before the signal could be sent: nothing to test this time
        process.communicate()
        return None
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    return process, err.decode()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_fix_leaves_every_file_old_or_new_and_the_cache_usable(tmp_path, signum):
    # On a loaded machine the poll above can miss the whole run; then it is repeated with more files, so that
    # a run that ends before the signal never passes for (or fails as) an interrupted one.
    for attempt, count in enumerate((400, 1600, 4000)):
        folder = tmp_path / f"attempt{attempt}"
        interrupted = _interrupt_a_fix_run(folder, signum, count)
        if interrupted is not None:
            break
    else:
        pytest.fail("every run finished before it could be interrupted")
    process, err = interrupted
    assert process.returncode == 130, f"exit code {process.returncode}, stderr: {err!r}"
    assert "interrupted" in err and "Traceback" not in err
    contents = [(folder / "src" / f"m{i:03d}.py").read_bytes() for i in range(count)]
    assert all(c in (BUGGY, FIXED) for c in contents), "a file is neither the old nor the new version"
    assert BUGGY in contents, "the run finished before the signal: the test proved nothing"
    assert not list((folder / "src").glob(".autofix-*")), "a temporary file was left behind"
    for entry in (folder / ".autofix_cache").rglob("*.json"):
        json.loads(entry.read_text())  # every cache entry is whole
    again = run(["--fix", "src"], folder)
    assert again.returncode == 0, again.stderr.decode()
    assert all((folder / "src" / f"m{i:03d}.py").read_bytes() == FIXED for i in range(count))


INTERRUPT_INJECTION = """
import glob, json, os, signal, sys
from autofix import source

folder = sys.argv[1]
path = os.path.join(folder, "f.py")
with open(path, "w") as handle:
    handle.write("x = 1\\n")


def interrupt(signum, frame):
    raise KeyboardInterrupt


signal.signal(signal.SIGINT, interrupt)


class Injector:
    # A tracer that sends SIGINT to the process just before the `at`-th bytecode instruction executed during the
    # write, in whichever frame (autofix's, tempfile's, os's, signal's...). It counts them when `at` is None.
    def __init__(self, at):
        self.at, self.executed = at, 0

    def __call__(self, frame, event, arg):
        frame.f_trace_opcodes = True
        return self.instruction

    def instruction(self, frame, event, arg):
        if event == "opcode":
            if self.executed == self.at:
                signal.raise_signal(signal.SIGINT)  # its handler runs here, as at any instruction boundary
            self.executed += 1
        return self.instruction


def write(text, at):
    injector = Injector(at)
    current = source.read(path)
    sys.settrace(injector)
    try:
        source.write_atomic(path, current, text)
        interrupted = False
    except KeyboardInterrupt:
        interrupted = True
    finally:
        sys.settrace(None)
    return injector.executed, interrupted


points, _ = write("x = 2\\n", None)
outcome = {"points": points, "interrupted": 0, "leftovers": [], "wrong_text": [], "handler_lost": []}
for at in range(points):
    _, interrupted = write("x = 1\\n" if at % 2 else "x = 2\\n", at)
    outcome["interrupted"] += interrupted
    leftovers = glob.glob(os.path.join(folder, ".autofix-*"))
    if leftovers:
        outcome["leftovers"].append(at)
        for leftover in leftovers:
            os.unlink(leftover)
    if source.read(path).text not in ("x = 1\\n", "x = 2\\n"):
        outcome["wrong_text"].append(at)
    if signal.getsignal(signal.SIGINT) is not interrupt:
        outcome["handler_lost"].append(at)
        signal.signal(signal.SIGINT, interrupt)
print(json.dumps(outcome))
"""


def test_interrupts_at_any_instant_of_a_write_leave_no_temporary_file(tmp_path):
    # Ctrl-C just before each bytecode instruction of one atomic write, in turn, chosen by a tracer rather than by
    # timing (a timed storm of signals interleaved fewer writes on a loaded machine and failed there): a
    # KeyboardInterrupt landing between mkstemp and the cleanup used to orphan a `.autofix-*.tmp`. Every
    # interrupt must come out as KeyboardInterrupt (held until the file is whole, never swallowed), leave no
    # temporary file, the old text or the new one, and the Ctrl-C handler in place.
    script = tmp_path / "inject.py"
    script.write_text(INTERRUPT_INJECTION)
    # The write fsyncs: on a RAM-backed folder, where there is one, the ~2,000 writes take seconds, not tens.
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() and os.access(shm, os.W_OK) else tmp_path / "src"
    folder.mkdir(exist_ok=True)
    try:
        result = subprocess.run([sys.executable, str(script), str(folder)], capture_output=True, text=True, timeout=120,
                                check=False)
    finally:
        if folder.parent == shm:
            shutil.rmtree(folder, ignore_errors=True)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["points"] > 500, "the tracer saw too few instructions: it did not trace the write"
    assert outcome["leftovers"] == [], "a temporary file was left behind"
    assert outcome["interrupted"] == outcome["points"], "an interrupt was swallowed"
    assert outcome["wrong_text"] == [], "the file was neither the old text nor the new one"
    assert outcome["handler_lost"] == [], "the Ctrl-C handler was not put back"


def test_source_read_reports_a_directory_named_like_a_file(tmp_path):
    (tmp_path / "pkg.py").mkdir()
    with pytest.raises(source.SourceError):
        source.read(str(tmp_path / "pkg.py"))
