"""The installed `autofix` command, run as a subprocess: output, exit codes, files written or not."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from conftest import run

BUGGY = b"import torch\n\n\ndef init(m: torch.nn.Linear):\n    m.weight.data.normal_(0.0, 0.02)\n    m.bias.data.fill_(0)\n"
FIXED = (
    b"import torch\n\n\ndef init(m: torch.nn.Linear):\n    with torch.no_grad():\n        m.weight.normal_(0.0, 0.02)\n"
    b"        m.bias.fill_(0)\n"
)
CLEAN = b"import torch\n\n\ndef init(m: torch.nn.Linear):\n    with torch.no_grad():\n        m.weight.zero_()\n"


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_clean_file_exits_0(tmp_path):
    write(tmp_path / "clean.py", CLEAN)
    result = run(["clean.py"], tmp_path)
    assert result.returncode == 0
    assert result.stdout == b"All checks passed!\n"


def test_findings_are_reported_with_positions_and_exit_1(tmp_path):
    write(tmp_path / "bug.py", BUGGY)
    result = run(["bug.py"], tmp_path)
    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    assert lines[0].startswith("bug.py:5:5: GF101 [*] In-place write through `.data`")
    assert lines[1].startswith("bug.py:6:5: GF101 [*] ")
    assert lines[2] == "Found 2 findings. [*] 2 fixable with `--fix`."


def test_diff_prints_a_patch_that_git_apply_and_patch_accept_and_writes_nothing(tmp_path):
    bug = write(tmp_path / "pkg" / "bug.py", BUGGY)
    result = run(["--diff", "pkg/bug.py"], tmp_path)
    assert result.returncode == 1
    assert bug.read_bytes() == BUGGY
    patch = result.stdout
    assert patch.startswith(b"--- a/pkg/bug.py\n+++ b/pkg/bug.py\n@@ ")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    write(tmp_path / "fix.patch", patch)
    assert subprocess.run(["git", "apply", "--check", "fix.patch"], cwd=tmp_path).returncode == 0
    assert subprocess.run(["patch", "-p1", "--quiet", "-i", "fix.patch"], cwd=tmp_path).returncode == 0
    assert bug.read_bytes() == FIXED


def test_fix_writes_the_fix_and_a_second_run_is_clean(tmp_path):
    bug = write(tmp_path / "bug.py", BUGGY)
    os.chmod(bug, 0o754)
    result = run(["--fix", "bug.py"], tmp_path)
    assert result.returncode == 0, result.stdout
    assert bug.read_bytes() == FIXED
    assert stat.S_IMODE(os.stat(bug).st_mode) == 0o754, "file mode is preserved"
    assert b"Fixed 2 findings" in result.stdout
    again = run(["bug.py"], tmp_path)
    assert again.returncode == 0
    assert run(["--fix", "bug.py"], tmp_path).returncode == 0
    assert bug.read_bytes() == FIXED, "--fix is idempotent"


def test_unsafe_fix_needs_the_flag(tmp_path):
    source = b"def step(model, loss):\n    loss.backward()\n    for p in model.parameters():\n        p.data.mul_(0.9)\n"
    bug = write(tmp_path / "step.py", source)
    report = run(["step.py"], tmp_path)
    assert b"GF101 In-place" in report.stdout, "no [*]: the only fix is unsafe"
    assert b"1 more fixable with `--fix --unsafe-fixes`" in report.stdout
    assert run(["--fix", "step.py"], tmp_path).returncode == 1
    assert bug.read_bytes() == source
    assert run(["--fix", "--unsafe-fixes", "step.py"], tmp_path).returncode == 0
    assert b"with torch.no_grad():\n            p.mul_(0.9)" in bug.read_bytes()
    assert bug.read_bytes().startswith(b"import torch\n")


def test_select_and_ignore(tmp_path):
    write(tmp_path / "both.py", b"import torch.nn as nn\nm = nn.Linear(2, 2)\nnn.init.zeros_(m.weight.data)\nm.bias.data.zero_()\n")
    only_init = run(["--select", "GF102", "both.py"], tmp_path)
    assert b"GF102" in only_init.stdout and b"GF101" not in only_init.stdout
    by_name = run(["--select", "detached-inplace-write", "both.py"], tmp_path)
    assert b"GF101" in by_name.stdout and b"GF102" not in by_name.stdout
    ignored = run(["--ignore", "GF1", "both.py"], tmp_path)
    assert ignored.returncode == 0
    unknown = run(["--select", "GF999", "both.py"], tmp_path)
    assert unknown.returncode == 2
    assert unknown.stderr.decode().strip() == "error: command line: unknown rule selector 'GF999' (see `autofix rules`)"


@pytest.mark.parametrize(
    "comment, suppressed",
    [
        ("# autofix: ignore", True),
        ("# autofix: ignore[GF101]", True),
        ("# noqa: GF101", True),
        ("# noqa", True),
        ("# noqa: GF102", False),
        ("# autofix: ignore[GF102]", False),
    ],
)
def test_suppression_comments(tmp_path, comment, suppressed):
    # `.detach()` writes are rewritten on known parameters only: `m` is a layer.
    buggy = f"import torch.nn as nn\nm = nn.Linear(2, 2)\nm.weight.detach().zero_()  {comment}\n".encode()
    write(tmp_path / "s.py", buggy)
    result = run(["s.py"], tmp_path)
    assert result.returncode == (0 if suppressed else 1), result.stdout
    fixed = run(["--fix", "s.py"], tmp_path)
    assert ((tmp_path / "s.py").read_bytes() == buggy) == suppressed
    assert fixed.returncode == 0


def test_stdin_fix_prints_the_fixed_source(tmp_path):
    result = run(["--fix", "-"], tmp_path, stdin=BUGGY)
    assert result.returncode == 0
    assert result.stdout == FIXED


def test_stdin_filename_reports_with_that_name_and_diffs(tmp_path):
    report = run(["--stdin-filename", "models/init.py"], tmp_path, stdin=BUGGY)
    assert report.returncode == 1
    assert report.stdout.startswith(b"models/init.py:5:5: GF101")
    diff = run(["--diff", "--stdin-filename", "models/init.py"], tmp_path, stdin=BUGGY)
    assert diff.returncode == 1
    assert diff.stdout.startswith(b"--- a/models/init.py\n+++ b/models/init.py\n")
    clean = run(["--fix", "-"], tmp_path, stdin=CLEAN)
    assert clean.returncode == 0 and clean.stdout == CLEAN


def test_config_in_pyproject(tmp_path):
    write(
        tmp_path / "pyproject.toml",
        b'[project]\nname = "x"\n\n[tool.autofix]\nselect = ["GF1"]\nignore = ["GF102"]\n'
        b'per-file-ignores = { "legacy/*.py" = ["GF101"] }\n',
    )
    write(tmp_path / "legacy" / "old.py", BUGGY)
    write(tmp_path / "new.py", BUGGY + b"import torch.nn as nn\nnn.init.zeros_(nn.Linear(2, 2).weight.data)\n")
    result = run(["."], tmp_path)
    out = result.stdout.decode()
    assert result.returncode == 1
    assert "new.py:5:5: GF101" in out
    assert "GF102" not in out, "ignored in config"
    assert "legacy" not in out, "per-file-ignores"
    # the command line overrides the config's select; its ignore adds to the config's
    overridden = run(["--select", "GF102", "--ignore", "GF101", "new.py"], tmp_path)
    assert overridden.returncode == 0, "config ignores GF102, CLI selects only GF102: nothing left"


@pytest.mark.parametrize(
    "table, message",
    [
        (b'colour = "red"\n', "unknown key 'colour'"),
        (b'select = "GF101"\n', "'select' must be a list of strings"),
        (b'select = ["GF9"]\n', "unknown rule selector 'GF9'"),
        (b"unsafe-fixes = 1\n", "'unsafe-fixes' must be true or false"),
        (b'max-file-size = "big"\n', "'max-file-size' must be a positive number of bytes"),
        (b"[tool.autofix.per-file-ignores]\n'x.py' = 'GF1'\n", "'per-file-ignores' must map globs to lists"),
        (b"extend-select = [1]\n", "'extend-select' must be a list of strings"),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path, table, message):
    write(tmp_path / "pyproject.toml", b"[tool.autofix]\n" + table)
    write(tmp_path / "a.py", BUGGY)
    result = run(["a.py"], tmp_path)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "pyproject.toml" in err and message in err


def test_directory_with_an_unparsable_file_among_good_ones(tmp_path):
    write(tmp_path / "src" / "a.py", BUGGY)
    write(tmp_path / "src" / "broken.py", b"def f(:\n    pass\n")
    write(tmp_path / "src" / "z.py", BUGGY)
    write(tmp_path / "src" / ".venv" / "skip.py", BUGGY)
    result = run(["src"], tmp_path)
    assert result.returncode == 2
    err = result.stderr.decode().splitlines()
    assert len(err) == 1 and err[0].startswith("error: src/broken.py: syntax error at 1:")
    out = result.stdout.decode()
    assert "src/a.py:5:5: GF101" in out and "src/z.py:5:5: GF101" in out and ".venv" not in out
    fixed = run(["--fix", "src"], tmp_path)
    assert fixed.returncode == 2
    assert (tmp_path / "src" / "a.py").read_bytes() == FIXED
    assert (tmp_path / "src" / "z.py").read_bytes() == FIXED
    assert (tmp_path / "src" / "broken.py").read_bytes() == b"def f(:\n    pass\n"


def test_missing_path_is_an_error(tmp_path):
    result = run(["nope.py"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().strip() == "error: nope.py: no such file or directory"


def test_json_format(tmp_path):
    write(tmp_path / "bug.py", BUGGY)
    result = run(["--format", "json", "bug.py"], tmp_path)
    assert result.returncode == 1
    rows = json.loads(result.stdout)
    # ruff's fields (the fix carries its edits: this finding's own fix, applied by itself), then the fields
    # earlier autofix releases wrote, which scripts read.
    assert rows[0] == {
        "cell": None,
        "code": "GF101",
        "end_location": {"column": 37, "row": 5},
        "filename": str(tmp_path / "bug.py"),
        "fix": {"applicability": "safe", "effect": "preserving", "message": None, "edits": [
            {"content": "    with torch.no_grad():\n        m.weight.normal_(0.0, 0.02)\n",
             "location": {"column": 1, "row": 5}, "end_location": {"column": 1, "row": 6}}]},
        "location": {"column": 5, "row": 5},
        "message": rows[0]["message"],
        "name": "detached-inplace-write",
        "noqa_row": 5,
        "severity": "error",
        "url": None,
        "path": "bug.py",
        "line": 5,
        "column": 5,
        "end_line": 5,
        "end_column": 37,
    }
    assert len(rows) == 2


def test_encodings_and_line_endings_survive(tmp_path):
    crlf = write(tmp_path / "crlf.py", BUGGY.replace(b"\n", b"\r\n"))
    bom = write(tmp_path / "bom.py", b"\xef\xbb\xbf" + BUGGY)
    latin = write(
        tmp_path / "latin.py",
        b"# -*- coding: latin-1 -*-\n# caf\xe9\nimport torch.nn as nn\nm = nn.Linear(2, 2)\nm.weight.detach().zero_()\n",
    )
    no_eol = write(tmp_path / "noeol.py", b"import torch.nn as nn\nm = nn.Linear(2, 2)\nm.bias.detach().zero_()")
    assert run(["--fix", "."], tmp_path).returncode == 0
    assert crlf.read_bytes() == FIXED.replace(b"\n", b"\r\n")
    assert bom.read_bytes() == b"\xef\xbb\xbf" + FIXED
    assert latin.read_bytes() == (
        b"# -*- coding: latin-1 -*-\n# caf\xe9\nimport torch.nn as nn\nimport torch\nm = nn.Linear(2, 2)\n"
        b"with torch.no_grad():\n    m.weight.zero_()\n"
    )
    assert no_eol.read_bytes() == (
        b"import torch.nn as nn\nimport torch\nm = nn.Linear(2, 2)\nwith torch.no_grad():\n    m.bias.zero_()"
    )


def test_diff_of_a_file_without_final_newline_applies(tmp_path):
    write(tmp_path / "noeol.py", b"import torch\nm = torch.nn.Linear(2, 2)\nm.bias.detach().zero_()")
    result = run(["--diff", "noeol.py"], tmp_path)
    assert b"\\ No newline at end of file\n" in result.stdout
    write(tmp_path / "p.patch", result.stdout)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    assert subprocess.run(["git", "apply", "p.patch"], cwd=tmp_path).returncode == 0
    assert (tmp_path / "noeol.py").read_bytes() == (
        b"import torch\nm = torch.nn.Linear(2, 2)\nwith torch.no_grad():\n    m.bias.zero_()"
    )


def test_rules_and_explain(tmp_path):
    rules = run(["rules"], tmp_path)
    assert rules.returncode == 0
    assert b"GF101  detached-inplace-write" in rules.stdout
    explain = run(["explain", "GF101"], tmp_path)
    assert explain.returncode == 0
    text = explain.stdout.decode()
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety"):
        assert heading in text
    assert "Fix: safe (preserving)" in text
    assert run(["explain", "GF999"], tmp_path).returncode == 2


def test_python_dash_m(tmp_path):
    write(tmp_path / "bug.py", BUGGY)
    result = subprocess.run([sys.executable, "-m", "autofix", "bug.py"], cwd=tmp_path, capture_output=True)
    assert result.returncode == 1 and b"bug.py:5:5: GF101" in result.stdout


def test_nothing_to_check_warns(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run(["empty"], tmp_path)
    assert result.returncode == 0
    assert b"no Python files" in result.stderr


def test_rewriting_never_imports_torch(tmp_path):
    write(tmp_path / "bug.py", BUGGY)
    code = (
        "import sys\nfrom autofix.cli import main\nrc = main(['--diff', 'bug.py'])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\nsys.exit(rc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True)
    assert result.returncode == 1, result.stderr.decode()
    assert result.stdout.startswith(b"--- a/bug.py")


# No shipped rule is in preview today: the tier is tested with a stand-in preview rule that the CLI finds beside
# the shipped ones (its module is put on the `codemods` package's path before the CLI starts).
PREVIEW_RULE = b'''"""A stand-in preview rule for the CLI tests: reports every call to `breakpoint()`."""
import re

from autofix.rule import Applicability, Rule


class BreakpointLeft(Rule):
    """
    ## What it does
    Reports `breakpoint()`.

    ## Why is this bad?
    A test stand-in.

    ## Example
    breakpoint()

    ## Fix safety
    None.
    """

    code = "GF999"
    name = "breakpoint-left"
    message = "breakpoint() left in"
    runtime = "stops"
    fix_applicability = Applicability.NONE
    fix_effect = None
    preview = True
    prefilter = re.compile(r"breakpoint")

    def check(self, model):
        for call in model.nodes(__import__("ast").Call):
            if getattr(call.func, "id", None) == "breakpoint":
                self.report(call)
'''
WITH_PREVIEW_RULE = (
    "import sys\nimport codemods\ncodemods.__path__.append(sys.argv[1])\nfrom autofix.cli import main\n"
    "sys.exit(main(sys.argv[2:]))\n"
)


def run_with_preview_rule(args, cwd):
    rules = cwd / "extra_rules"
    write(rules / "breakpoint_left.py", PREVIEW_RULE)
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-c", WITH_PREVIEW_RULE, str(rules), *args], cwd=cwd,
                          capture_output=True, env=env, timeout=120)


@pytest.mark.parametrize(
    "args, config, reported",
    [
        ([], "", False),  # preview rules are off by default
        (["--select", "GF9"], "", False),  # a prefix does not turn a preview rule on
        (["--select", "ALL"], "", False),
        (["--preview"], "", True),
        (["--select", "GF999"], "", True),  # its exact code does
        (["--select", "breakpoint-left"], "", True),  # and so does its exact name
        ([], "[tool.autofix]\npreview = true\n", True),
    ],
)
def test_preview_rules_run_only_when_asked_for(tmp_path, args, config, reported):
    write(tmp_path / "train.py", b"def f():\n    breakpoint()\n")
    if config:
        write(tmp_path / "pyproject.toml", config.encode())
    result = run_with_preview_rule(["--format", "json", *args, "train.py"], tmp_path)
    codes = [f["code"] for f in json.loads(result.stdout)]
    assert ("GF999" in codes) is reported, result.stderr


def test_rules_lists_each_rules_tier_and_explain_says_preview(tmp_path):
    listing = run_with_preview_rule(["rules"], tmp_path).stdout.decode()
    row = next(line for line in listing.splitlines() if line.startswith("GF999"))
    assert "preview" in row.split()
    assert "stable" in next(line for line in listing.splitlines() if line.startswith("GF404")).split()
    assert "Tier: preview" in run_with_preview_rule(["explain", "GF999"], tmp_path).stdout.decode()


def test_missing_zero_grad_is_stable_and_runs_by_default(tmp_path):
    write(tmp_path / "train.py", (
        b"import torch\n\n\ndef train(model, loader, optimizer: torch.optim.Optimizer, criterion):\n"
        b"    for x, y in loader:\n        loss = criterion(model(x), y)\n        loss.backward()\n"
        b"        optimizer.step()\n"
    ))
    result = run(["--format", "json", "train.py"], tmp_path)
    assert [f["code"] for f in json.loads(result.stdout)] == ["GF404"], result.stderr


def test_preview_setting_must_be_a_boolean(tmp_path):
    write(tmp_path / "pyproject.toml", b"[tool.autofix]\npreview = 'yes'\n")
    write(tmp_path / "a.py", b"x = 1\n")
    result = run(["a.py"], tmp_path)
    assert result.returncode == 2
    assert b"'preview' must be true or false" in result.stderr


def test_exclude_globs_match_the_relative_path_or_any_part_of_it(tmp_path):
    from autofix.config import Settings

    settings = Settings(root=tmp_path, exclude=["src/gen/*.py", "legacy", "*_pb2.py"])
    root = str(tmp_path)
    assert settings.is_excluded(f"{root}/src/gen/model.py")  # the whole relative path
    assert settings.is_excluded(f"{root}/src/gen/deeper/model.py")  # fnmatch semantics: `*` crosses folders
    assert settings.is_excluded(f"{root}/a/legacy/train.py")  # a folder on the way
    assert settings.is_excluded(f"{root}/proto/model_pb2.py")  # a file name
    assert settings.is_excluded(f"{root}/.venv/lib/torch.py")  # a default exclude
    assert not settings.is_excluded(f"{root}/.venv/lib/torch.py", defaults=False)
    assert not settings.is_excluded(f"{root}/src/train.py")
    assert not Settings(root=tmp_path).is_excluded(f"{root}/src/legacy_train.py")
