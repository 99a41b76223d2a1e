"""The start of every process, through the installed CLI: LibCST is imported only where a fix is rendered, and
Ctrl-C during the imports is an orderly exit (one line, code 130), never a traceback.

Python's own import profiler (PYTHONPROFILEIMPORTTIME, inherited by the worker processes) says which modules
each process really imported: one `import time:` line on stderr per module, as it finishes.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest

from conftest import autofix_command, run

CLEAN = "import torch\n\nx = torch.ones(3)\n"
NO_FIX = (  # GF504: a finding, but no fix to render
    "import torch.nn as nn\n"
    "class M(nn.Module):\n"
    "    def forward(self, x):\n"
    "        proj = nn.Linear(x.shape[-1], 8)\n"
    "        return proj(x)\n"
)
FIXABLE = "import torch\nimport torch.nn as nn\n\n\ndef init(m: nn.Linear):\n    m.weight.data.zero_()\n"
PROFILED = {"PYTHONPROFILEIMPORTTIME": "1"}


def imported(stderr: bytes) -> list[str]:
    """The modules the run's processes imported, from the profiler's lines."""
    return [line.rsplit("|", 1)[1].strip() for line in stderr.decode().splitlines() if line.startswith("import time:")]


@pytest.mark.parametrize("args, text", [
    (["--version"], None),
    (["clean.py"], CLEAN),
    (["model.py"], NO_FIX),
    (["model.py", "--output-format", "full"], NO_FIX),
    (["model.py", "--format", "json"], NO_FIX),
    (["model.py", "--diff"], NO_FIX),
])
def test_a_run_with_no_fix_to_render_never_imports_libcst(tmp_path, args, text):
    if text is not None:
        (tmp_path / args[0]).write_text(text)
    result = run([*args, "--no-cache"] if text is not None else args, tmp_path, env=PROFILED)
    modules = imported(result.stderr)
    assert result.returncode in (0, 1), result.stderr.decode()[-2000:]
    if text is not None:
        assert "codemods._torch" in modules and "autofix.engine" in modules  # the rules were loaded and ran
    assert not [m for m in modules if m == "libcst" or m.startswith("libcst.")], (
        "LibCST was imported by a run with no fix to render: a rule module (or the engine) imports it at module "
        "level; write `from autofix.lazy import libcst as cst` and keep `cst` out of module-level code"
    )


@pytest.mark.parametrize("args", [["--diff"], ["--output-format", "full"]])
def test_a_run_that_renders_a_fix_does_import_it(tmp_path, args):
    (tmp_path / "init.py").write_text(FIXABLE)
    result = run(["init.py", "--no-cache", *args], tmp_path, env=PROFILED)
    assert result.returncode == 1
    assert "libcst" in imported(result.stderr)


@pytest.mark.parametrize("reached", [
    re.compile(r"\|\s+autofix\.config$"),  # the first of the command line's own imports
    re.compile(r"\|\s+autofix\.semantic$"),  # deep inside the engine's
])
def test_ctrl_c_while_starting_is_one_line_and_exit_130(tmp_path, reached):
    (tmp_path / "clean.py").write_text(CLEAN)
    env = {**os.environ, **PROFILED}
    process = subprocess.Popen(autofix_command() + ["clean.py", "--no-cache"], cwd=tmp_path, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               # the default disposition, whatever the test runner was started with
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = []
    for line in process.stderr:
        seen.append(line.decode())
        if reached.search(seen[-1].rstrip()):
            process.send_signal(signal.SIGINT)
            break
    else:
        pytest.fail("the run ended before it reached the import to interrupt: " + "".join(seen[-5:]))
    out, rest = process.communicate(timeout=120)
    said = [line for line in "".join(seen).splitlines() + rest.decode().splitlines() if not line.startswith("import time:")]
    assert process.returncode == 130, said
    assert out == b""
    assert not any("Traceback" in line for line in said), said
    # Mostly the interrupt lands in the imports; on a busy machine the imports may be over by the time it arrives.
    assert said in (["interrupted while starting: nothing was checked or written"],
                     ["interrupted: every file is either as it was or completely fixed; nothing is half-written"]), said
