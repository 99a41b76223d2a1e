"""Each of ruff 0.17's twelve output formats, as autofix writes it, against ruff's own output for the same format
(tests/data/ruff_formats: ruff's output on a small file of ours): the same fields, the same line shapes, the same
workflow-command syntax. Values differ (other rules, other messages); the structure must not."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from conftest import DATA, run

RUFF = DATA / "ruff_formats"
SAMPLE = (
    "import torch\n"
    "import torch.nn as nn\n"
    "\n"
    "\n"
    "def init(m: nn.Linear):\n"
    "    m.bias.data.fill_(0)\n"
    "    m.weight.data.normal_(0.0, 0.02)\n"
)
# ruff's fields that autofix has no value for, left out where a null could break the consumer: autofix has no
# hosted rule pages (`autofix explain CODE` prints a rule's documentation).
NO_URL = {"url", "helpUri", "informationUri"}


def ruff_output(name: str) -> str:
    return (RUFF / f"{name}.txt").read_text()


def autofix_output(tmp_path, name: str, *extra: str) -> str:
    (tmp_path / "init.py").write_text(SAMPLE)
    result = run(["check", "init.py", "--no-cache", "--output-format", name, *extra], tmp_path)
    assert result.returncode == 1, result.stderr.decode()
    return result.stdout.decode()


def keys(value) -> object:
    """The structure of a JSON value: dicts as {key: structure}, a list as the structure of its first item."""
    if isinstance(value, dict):
        return {k: keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keys(value[0])] if value else []
    return type(value).__name__ if value is not None else "null"


def assert_has_fields(ours, theirs, where="") -> None:
    """Every field ruff writes is in ours, with the same nesting (extra fields of ours are allowed)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), f"{where}: {ours!r} is not an object"
        for key, value in theirs.items():
            if key in NO_URL:
                continue
            assert key in ours, f"{where}: ruff's field {key!r} is missing (ours: {sorted(ours)})"
            if ours[key] is not None and value is not None:
                assert_has_fields(ours[key], value, f"{where}.{key}")
    elif isinstance(theirs, list) and theirs:
        assert isinstance(ours, list) and ours, f"{where}: not a non-empty list"
        for item in ours:
            assert_has_fields(item, theirs[0], f"{where}[]")


def test_json_has_ruffs_fields_and_each_fix_its_edits(tmp_path):
    ours = json.loads(autofix_output(tmp_path, "json"))
    theirs = json.loads(ruff_output("json"))
    assert len(ours) == 2
    fixed = next(row for row in theirs if row["fix"] is not None)
    assert_has_fields(ours, [fixed])
    assert [(r["code"], r["location"], r["noqa_row"], r["cell"]) for r in ours] == [
        ("GF101", {"column": 5, "row": 6}, 6, None), ("GF101", {"column": 5, "row": 7}, 7, None)]
    assert ours[0]["filename"] == str(tmp_path / "init.py")
    # Applying the first finding's edits (whole lines) to the file gives its own fix.
    lines = SAMPLE.splitlines(keepends=True)
    for edit in reversed(ours[0]["fix"]["edits"]):
        lines[edit["location"]["row"] - 1:edit["end_location"]["row"] - 1] = [edit["content"]]
    assert "".join(lines) == SAMPLE.replace("    m.bias.data.fill_(0)\n",
                                            "    with torch.no_grad():\n        m.bias.fill_(0)\n")


def test_json_lines_is_one_json_object_a_line(tmp_path):
    ours = [json.loads(line) for line in autofix_output(tmp_path, "json-lines").splitlines()]
    theirs = [json.loads(line) for line in ruff_output("json-lines").splitlines()]
    assert len(ours) == 2
    assert_has_fields(ours, [next(row for row in theirs if row["fix"] is not None)])
    assert ours == json.loads(autofix_output(tmp_path, "json"))


def _xml_shape(element) -> tuple:
    return (element.tag, tuple(sorted(element.attrib)), tuple(_xml_shape(child) for child in element[:1]))


def test_junit_has_ruffs_elements_and_attributes(tmp_path):
    ours = ET.fromstring(autofix_output(tmp_path, "junit"))
    theirs = ET.fromstring(ruff_output("junit"))
    assert _xml_shape(ours) == _xml_shape(theirs)
    assert ours.attrib["tests"] == ours.attrib["failures"] == "2"
    case = ours.find("testsuite/testcase")
    assert case.attrib["name"] == "org.autofix.GF101" and case.attrib["line"] == "6"
    assert re.fullmatch(r"line \d+, col \d+, .+", case.find("failure").text)
    assert re.fullmatch(r"line \d+, col \d+, .+", theirs.find("testsuite/testcase/failure").text)


def _github_shape(line: str) -> tuple:
    match = re.fullmatch(r"::(\w+) ((?:\w+=[^,:]*,?)+)::(.*)", line)
    assert match, line
    names = tuple(part.split("=")[0] for part in match.group(2).split(","))
    return match.group(1), names


def test_github_is_workflow_commands_with_ruffs_properties(tmp_path):
    ours = autofix_output(tmp_path, "github").splitlines()
    theirs = ruff_output("github").splitlines()
    assert {_github_shape(line) for line in ours} == {_github_shape(line) for line in theirs}
    assert ours[0].startswith(f"::error title=autofix (GF101),file={tmp_path / 'init.py'},line=6,col=5,endLine=6,")
    assert re.search(r"::init\.py:6:5: GF101 In-place write", ours[0])


def test_azure_is_logging_commands_with_ruffs_properties(tmp_path):
    def shape(line):
        match = re.fullmatch(r"##vso\[task\.logissue ((?:[\w]+=[^;]*;)+)\](.+)", line)
        assert match, line
        return tuple(p.split("=")[0] for p in match.group(1).split(";") if p)

    ours = autofix_output(tmp_path, "azure").splitlines()
    assert {shape(line) for line in ours} == {shape(line) for line in ruff_output("azure").splitlines()}
    assert f"sourcepath={tmp_path / 'init.py'};linenumber=6;columnnumber=5;code=GF101;]" in ours[0]


def test_gitlab_has_ruffs_fields(tmp_path):
    ours = json.loads(autofix_output(tmp_path, "gitlab"))
    theirs = json.loads(ruff_output("gitlab"))
    assert keys(ours) == keys(theirs)
    assert ours[0]["location"]["path"] == "init.py"
    assert len({row["fingerprint"] for row in ours}) == 2


@pytest.mark.parametrize("name, line", [
    ("pylint", r"[\w./]+:\d+: \[[A-Z]+\d+\] .+"),
    ("concise", r"[\w./]+:\d+:\d+: [A-Z]+\d+( \[\*\])? .+"),
])
def test_one_line_formats_have_ruffs_shape(tmp_path, name, line):
    ours = autofix_output(tmp_path, name).splitlines()
    theirs = ruff_output(name).splitlines()
    findings = [text for text in theirs if not text.startswith(("Found", "[*]"))]
    assert all(re.fullmatch(line, text) for text in findings), findings
    assert [re.fullmatch(line, text) is not None for text in ours] == [True, True] + [False] * (len(ours) - 2)
    if name == "concise":
        assert ours[2].startswith("Found 2 findings.")


def test_grouped_has_ruffs_shape(tmp_path):
    def shape(text):
        out = []
        for line in text.splitlines():
            if re.fullmatch(r"[\w./]+:", line):
                out.append("file")
            elif re.fullmatch(r"  \d+:\d+ +[A-Z]+\d+( \[\*\])? .+", line):
                out.append("finding")
            elif line == "":
                out.append("blank")
            else:
                out.append("summary")
        return [kind for n, kind in enumerate(out) if n == 0 or kind != out[n - 1]]

    assert shape(autofix_output(tmp_path, "grouped")) == shape(ruff_output("grouped")) == [
        "file", "finding", "blank", "summary"]


def test_full_has_ruffs_header_and_location_arrow(tmp_path):
    def headers(text):
        return re.findall(r"^([A-Z]+\d+(?: \[\*\])?) .+\n --> ([\w./]+):(\d+):(\d+)\n  \|$", text, re.MULTILINE)

    assert len(headers(ruff_output("full"))) == 3
    assert headers(autofix_output(tmp_path, "full")) == [("GF101 [*]", "init.py", "6", "5"),
                                                         ("GF101 [*]", "init.py", "7", "5")]


def test_rdjson_has_ruffs_fields(tmp_path):
    ours = json.loads(autofix_output(tmp_path, "rdjson"))
    theirs = json.loads(ruff_output("rdjson"))
    assert_has_fields({k: v for k, v in ours.items() if k != "diagnostics"},
                      {k: v for k, v in theirs.items() if k != "diagnostics"})
    # The two adjacent writes have one joined fix: its suggestion rides on the first finding.
    assert_has_fields(ours["diagnostics"][0], theirs["diagnostics"][0])
    assert [d["code"]["value"] for d in ours["diagnostics"]] == ["GF101", "GF101"]
    assert ["suggestions" in d for d in ours["diagnostics"]] == [True, False]


def test_sarif_has_ruffs_fields(tmp_path):
    ours = json.loads(autofix_output(tmp_path, "sarif"))
    theirs = json.loads(ruff_output("sarif"))
    assert_has_fields({k: v for k, v in ours.items() if k != "runs"}, {k: v for k, v in theirs.items() if k != "runs"})
    ours_run, their_run = ours["runs"][0], theirs["runs"][0]
    assert_has_fields(ours_run["tool"], their_run["tool"])
    assert_has_fields(ours_run["results"][0], their_run["results"][0])
    assert ours["version"] == "2.1.0"
    assert [r["ruleId"] for r in ours_run["results"]] == ["GF101", "GF101"]
    assert [r["id"] for r in ours_run["tool"]["driver"]["rules"]] == ["GF101"]


def test_statistics_as_json_has_ruffs_fields(tmp_path):
    ours = json.loads(autofix_output(tmp_path, "json", "--statistics"))
    theirs = json.loads(ruff_output("statistics-json"))
    assert_has_fields(ours, theirs)
    assert ours == [{"code": "GF101", "name": "detached-inplace-write", "count": 2, "fixable": True, "fixable_count": 2,
                     "files": 1, "fixed": 0}]
