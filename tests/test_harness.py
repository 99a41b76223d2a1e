"""The validation harness: real codemods, real training in separate processes, verdicts checked."""
from __future__ import annotations

import json
import shutil

import pytest

from autofix.harness.launch import run_probe
from autofix.harness.run import case_for, run_case
from autofix.harness.verdict import (
    ROUNDING_LEVEL, gradient_ratio, judge, largest_gradients, problems, steady_evidence,
)
from autofix.registry import all_rules
from conftest import ROOT, run

pytest.importorskip("torch")

EXPECTED_LABEL = {"preserving": "preserved", "repairing": "repaired"}


def test_every_fixable_rule_ships_a_scenario():
    for rule in all_rules():
        if rule.fix_effect is not None:
            assert rule.scenarios, f"{rule.code} has a fix but no harness scenario"


# --- the scenario suite, run twice as CI runs it on a fresh install ---------------------------------------------

@pytest.fixture(scope="module")
def suite_runs(tmp_path_factory):
    runs = []
    for attempt in (1, 2):
        folder = tmp_path_factory.mktemp(f"suite{attempt}")
        result = run(["validate", "--scenarios", "--device", "cpu", "--json", "v.json"], folder)
        runs.append((result, json.loads((folder / "v.json").read_text()) if (folder / "v.json").exists() else None))
    return runs


def test_all_scenarios_on_cpu_match_each_rules_declared_effect(suite_runs):
    result, data = suite_runs[0]
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert data["environment"]["device"] == "cpu" and data["environment"]["torch"].startswith("2.")
    codes = {row["code"] for row in data["outcomes"]}
    assert codes == {r.code for r in all_rules() if r.scenarios}
    for row in data["outcomes"]:
        assert row["verdict"]["ok"], row["verdict"]
        assert row["verdict"]["label"] == EXPECTED_LABEL[row["effect"]], row["code"]
        if row["effect"] == "repairing":
            after = row["after"]
            assert after["exception"] is None
            if any(p["in_optimizer"] for p in after["params"].values()):
                assert after["steps"] == 5 and after["stopped_early"]
            else:  # a hand-written update (GF505): no optimizer steps to count, but several backward passes
                assert len(after["losses"]) >= 2
            assert all(p["changed"] and p["arrivals"] for p in after["params"].values())
        else:
            assert row["before"]["losses"] == row["after"]["losses"]
    assert f"{len(data['outcomes'])} of {len(data['outcomes'])} verdicts match" in out


def test_two_runs_of_the_suite_give_identical_verdicts(suite_runs):
    (first, a), (second, b) = suite_runs
    assert first.returncode == second.returncode == 0, second.stdout.decode() + second.stderr.decode()
    key = [(row["code"], row["scenario"], row["verdict"], problems(row["before"]), problems(row["after"]))
           for row in a["outcomes"]]
    assert key == [(row["code"], row["scenario"], row["verdict"], problems(row["before"]), problems(row["after"]))
                   for row in b["outcomes"]]


def test_scenarios_stay_far_from_float_noise(suite_runs):
    """Right by construction: nothing a verdict looks at lies near the line where float noise could flip it."""
    _, data = suite_runs[0]
    for row in data["outcomes"]:
        for label in ("before", "after"):
            run_ = row[label]
            where = f"{row['code']} {label}"
            params = run_.get("params", {})
            largest = largest_gradients(params)
            for name, record in params.items():
                ratio = gradient_ratio(record, largest)
                # No gradient at all, or one a thousand times above rounding level: never rounding residue
                # (the bias of a convolution before BatchNorm would fail here at about 1e-8).
                assert ratio == 0 or ratio >= 1000 * ROUNDING_LEVEL, (where, name, ratio)
                if ratio and record["changed"]:
                    assert record["moved"] >= 1e-4 * record["initial_norm"], (where, name, record["moved"])
            losses = run_.get("losses", [])
            if len(losses) >= 2:
                change = abs(losses[-1] - losses[0]) / abs(losses[0])
                assert change == 0 or change >= 1e-3, (where, losses)


def test_no_numpy_warning(suite_runs):
    for result, _ in suite_runs:
        assert b"NumPy" not in result.stdout + result.stderr


# --- verdict definitions -----------------------------------------------------------------------------------------

def _param(norms, calls, changed):
    return {"arrivals": len(norms), "grad_norms": norms, "grad_calls": calls, "finite": True,
            "in_optimizer": True, "initial_norm": 1.0, "changed": changed, "moved": 0.1 if changed else 0.0}


@pytest.mark.parametrize("residue", [0.0, 3e-9, 1e-7])
def test_a_cancelled_gradient_counts_as_none_whatever_its_rounding(residue):
    # A conv bias before BatchNorm: exactly zero on one machine, rounding residue on another. Either way it
    # is "no gradient", and whether rounding-sized updates moved it is not judged.
    run_ = {"exception": None, "losses": [2.0, 1.0], "params": {
        "conv.weight": _param([1.5, 1.2], [1, 2], True),
        "conv.bias": _param([residue, residue], [1, 2], residue > 0),
    }}
    assert problems(run_) == ["no gradient reached 1 of 2 parameters (conv.bias)"]


def test_moved_is_judged_bitwise_for_parameters_a_gradient_reached():
    run_ = {"exception": None, "losses": [2.0, 2.0], "params": {
        "w": _param([1.0], [1], False), "b": _param([0.5], [1], False)}}
    assert problems(run_) == ["no parameter moved", "loss did not fall (2 -> 2)"]
    run_["params"]["w"]["changed"] = True
    run_["losses"] = [2.0, 1.9]
    assert problems(run_) == ["1 of 2 parameters with gradients never moved (b)"]


def test_deliberate_evidence_the_fix_left_unchanged_counts_in_neither_run():
    # A program that reshapes to a transposed shape on purpose (a relative shift) while another rule's fix repairs
    # something else: the same count before and after is the program's own, not a problem of either run.
    healthy = {"exception": None, "losses": [2.0, 1.0], "params": {"w": _param([1.0], [1], True)}}
    broken = {**healthy, "params": {"w": _param([1.0], [1], False)}, "losses": [2.0, 2.0]}
    before, after = {**broken, "transposing_views": 4}, {**healthy, "transposing_views": 4}
    assert judge("repairing", before, after, changed_source=True).ok
    assert problems(after) and not problems(after, steady_evidence(before, after))
    # A count the fix changed is evidence: GF607's fix removes the views, so before they count as a problem.
    fixed = {**healthy, "transposing_views": 0}
    assert judge("repairing", {**healthy, "transposing_views": 4}, fixed, changed_source=True).ok
    assert not judge("repairing", {**healthy, "transposing_views": 4}, {**healthy, "transposing_views": 2},
                     changed_source=True).ok


def test_preserving_verdict_catches_a_numerical_difference():
    before = {"losses": [1.0, 0.5], "params": {"w": {"fingerprint": "a"}}, "exception": None}
    after = {"losses": [1.0, 0.5000001], "params": {"w": {"fingerprint": "a"}}, "exception": None}
    verdict = judge("preserving", before, after, changed_source=True)
    assert not verdict.ok and "per-step losses differ" in verdict.reasons
    assert judge("preserving", before, dict(before), changed_source=True).ok


def test_a_fix_that_changes_nothing_is_reported_as_a_mismatch():
    rule = next(r for r in all_rules() if r.code == "GF201")
    # The same bug in a shape the rule does not touch (the cut hides behind a helper), so the "fixed"
    # program is the original: the harness must say so, not call it repaired.
    source = rule.scenarios[0].source.replace(
        "loss = F.cross_entropy(logits.detach(), labels)",
        "loss = F.cross_entropy(cut(logits), labels)",
    ).replace("for step in range(10):", "def cut(t):\n    return t.detach()\n\n\nfor step in range(10):")
    case = case_for(rule, "hidden-cut", source)
    assert case.after == case.before
    outcome = run_case(case, "cpu", steps=3)
    assert not outcome.verdict.ok and outcome.verdict.label == "mismatch"
    assert outcome.before["exception"]["type"] == "RuntimeError"


# --- what the probe leaves out, and the train/eval mode it watches (GF602, GF606) --------------------------------

_PROGRAM = """\
import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Sequential(nn.Linear(8, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 10))
{setup}
g = torch.Generator().manual_seed(0)
x = torch.randn(32, 8, generator=g)
y = torch.randint(0, 3, (32,), generator=g)
for epoch in range(3):
{top}    for batch in range(2):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        model(x)
"""


def _probe(tmp_path, setup, top=""):
    script = tmp_path / "train.py"
    script.write_text(_PROGRAM.format(setup=setup, top=top))
    return run_probe(str(script), "cpu", 6, cwd=str(tmp_path))


def test_a_layer_replaced_before_the_optimizer_is_built_is_left_out(tmp_path):
    # The old 10-class head is gone from the model and from every optimizer: no program step can train it,
    # so it is no "parameter without a gradient". Before the probe left such layers out, correct fine-tuning
    # code looked broken.
    run_ = _probe(tmp_path, "model[4] = nn.Linear(16, 3)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)",
                  top="    model.train()\n")
    assert len(run_["params"]) == 5 and problems(run_) == [], problems(run_)


def test_a_layer_replaced_after_the_optimizer_is_built_is_kept_and_judged(tmp_path):
    run_ = _probe(tmp_path, "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\nmodel[4] = nn.Linear(16, 3)",
                  top="    model.train()\n")
    found = problems(run_)
    assert len(run_["params"]) == 7  # the old head, still in the optimizer, and the new one
    assert "no gradient reached 2 of 7 parameters" in found[0] and "never moved" in found[1], found


def test_training_in_eval_mode_after_training_mode_is_reported(tmp_path):
    run_ = _probe(tmp_path, "model[4] = nn.Linear(16, 3)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)")
    # Epoch 1 (2 steps) in training mode, epochs 2 and 3 (4 steps) in eval mode: the validation pass ran under
    # no_grad, so gradients went through the Dropout and BatchNorm layers at every one of the 6 backward calls.
    assert run_["modes"] == {"eval_after_train": 4, "through_mode_layers": 6}
    assert "4 of 6 backward passes went through Dropout/BatchNorm layers in eval mode" in " ".join(problems(run_))


def test_training_in_eval_mode_from_the_start_is_not_reported(tmp_path):
    # Frozen BatchNorm statistics from the first step on is a choice some fine-tuning recipes make.
    run_ = _probe(tmp_path, "model[4] = nn.Linear(16, 3)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)",
                  top="    model.eval()\n")
    assert run_["modes"] == {"eval_after_train": 0, "through_mode_layers": 6}
    assert not any("eval mode" in p for p in problems(run_))


def test_two_layers_of_one_class_outside_any_model_get_two_names(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import torch\nimport torch.nn as nn\n\nlayers = [nn.Linear(4, 4), nn.Linear(4, 4)]\n"
                      "opt = torch.optim.SGD([p for l in layers for p in l.parameters()], lr=0.1)\n"
                      "for step in range(2):\n    opt.zero_grad()\n    layers[1](layers[0](torch.ones(2, 4))).sum().backward()\n"
                      "    opt.step()\n")
    run_ = run_probe(str(script), "cpu", 2, cwd=str(tmp_path))
    assert sorted(run_["params"]) == ["Linear#2.bias", "Linear#2.weight", "Linear.bias", "Linear.weight"]


# --- user programs: one script, and a project of two files ---------------------------------------------------------

def test_user_program_side_by_side_table(tmp_path):
    script = tmp_path / "train.py"
    shutil.copyfile(ROOT / "examples" / "detached_loss.py", script)
    original = script.read_bytes()
    result = run(["validate", "train.py", "--max-steps", "5", "--device", "cpu"], tmp_path)
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert script.read_bytes() == original, "the user's file is never touched"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.py"], "nothing written beside it"
    assert "1 fix in 1 of 1 Python files" in out
    assert "train.py:24:" in out and " GF201 " in out
    assert "before: raised RuntimeError: element 0 of tensors does not require grad" in out
    assert "after:  healthy" in out
    for name in ("Sequential.0.weight", "Sequential.0.bias", "Sequential.2.weight", "Sequential.2.bias"):
        assert name in out
    rows = [line for line in out.splitlines() if "Sequential.0.weight" in line]
    assert "none" in rows[0] and "5x" in rows[0], "no gradient before, five after"


MODEL = '''import torch.nn as nn


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(16, 32), nn.ReLU())
        self.head = nn.Linear(32, 4)

    def forward(self, x):
        return self.head(self.backbone(x))


def for_fine_tuning():
    model = Classifier()
    model.requires_grad_(False)
    for p in model.head.parameters():
        p.require_grad = True  # unfreeze the head
    return model
'''

TRAIN = '''import argparse
import sys

import torch
import torch.nn.functional as F

from model import for_fine_tuning

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--record")
args = parser.parse_args()
with open(args.record, "a") as handle:
    handle.write(" ".join(sys.argv[1:]) + "\\n")

model = for_fine_tuning()
optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
g = torch.Generator().manual_seed(0)
x = torch.randn(64, 16, generator=g)
y = torch.randint(0, 4, (64,), generator=g)
for epoch in range(args.epochs):
    for step in range(10):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
'''


@pytest.fixture(scope="module")
def project_run(tmp_path_factory):
    project = tmp_path_factory.mktemp("project")
    (project / "model.py").write_text(MODEL)
    (project / "train.py").write_text(TRAIN)
    files = {p.name: p.read_bytes() for p in project.iterdir()}
    outside = tmp_path_factory.mktemp("outside")
    record = outside / "argv.txt"
    # autofix's options before and after the script; the script's own after `--`.
    result = run(["validate", "--device", "cpu", "train.py", "--max-steps", "5", "--json", "v.json",
                  "--plot", "p.png", "--", "--epochs", "1", "--record", str(record)], project)
    return project, files, record, result


def test_options_around_the_script_and_script_arguments_after_the_separator(project_run):
    project, _, record, result = project_run
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    data = json.loads((project / "v.json").read_text())
    (row,) = data["outcomes"]
    assert row["after"]["steps"] == 5 and row["after"]["stopped_early"]
    assert record.read_text().splitlines() == [f"--epochs 1 --record {record}"] * 2, "before and after"


def test_project_mode_fixes_the_model_and_leaves_every_file_as_it_was(project_run):
    project, files, _, result = project_run
    out = result.stdout.decode()
    assert {p.name: p.read_bytes() for p in project.iterdir() if p.name in files} == files
    assert sorted(p.name for p in project.iterdir()) == ["model.py", "p.png", "train.py", "v.json"]
    assert "1 fix in 1 of 2 Python files" in out
    assert "model.py:18:9: GF501 " in out
    assert "before: raised ValueError: optimizer got an empty parameter list (line 17)" in out
    assert "after:  healthy" in out
    data = json.loads((project / "v.json").read_text())
    assert [f["path"] for f in data["outcomes"][0]["fixes"]] == ["model.py"]
    assert b"NumPy" not in result.stdout + result.stderr


def test_plot_is_a_real_picture(project_run):
    import matplotlib.image

    project, _, _, _ = project_run
    image = matplotlib.image.imread(project / "p.png")
    height, width = image.shape[:2]
    assert width >= 800 and height >= 200
    pixels = image[..., :3].reshape(-1, 3)
    background = (pixels == pixels[0]).all(axis=1).mean()
    assert background < 0.97, "more than a white page: axes, curves and labels"
    assert len({tuple(p) for p in pixels[::7].round(2)}) > 20, "several colours: curves and text"


def test_script_arguments_without_the_separator_are_refused(tmp_path):
    (tmp_path / "train.py").write_text("print('never run')\n")
    result = run(["validate", "train.py", "--epochs", "1"], tmp_path)
    assert result.returncode == 2
    assert "unrecognized arguments: --epochs 1 (the script's own arguments go after --)" in result.stderr.decode()


# --- the probe's evidence for GF603-GF605: clips, activations applied twice, dropout in eval() -------------------

EVIDENCE_PROGRAM = '''import torch
import torch.nn as nn
import torch.nn.functional as F

BUGGY = {buggy}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        h = self.drop(self.fc(x))
        return F.dropout(h, 0.5) if BUGGY else F.dropout(h, 0.5, training=self.training)


model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10)
x, y = torch.randn(32, 8), torch.randint(0, 4, (32,))
for step in range(3):
    model.train()
    optimizer.zero_grad()
    if BUGGY:
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
    logits = model(x)
    probs = F.softmax(logits, dim=1)
    accuracy = (probs.argmax(1) == y).float().mean()
    loss = F.cross_entropy(probs.view(32, 4) if BUGGY else logits, y) + F.nll_loss(F.log_softmax(logits, 1), y)
    scaler.scale(loss).backward()
    if not BUGGY:
        scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
    model.eval()
    with torch.no_grad():
        model(x)
'''


@pytest.mark.parametrize("buggy", [False, True])
def test_probe_evidence_of_clipping_activations_and_eval_dropout(tmp_path, buggy):
    from autofix.harness.launch import run_probe

    script = tmp_path / "train.py"
    script.write_text(EVIDENCE_PROGRAM.format(buggy=buggy))
    run_ = run_probe(str(script), "cpu", 10, cwd=str(tmp_path))
    assert run_["exception"] is None, run_["exception"]
    clips = run_["clips"]
    assert len(clips) == (6 if buggy else 3)
    found = [p for p in problems(run_) if "clip" in p or "was given" in p or "eval()" in p]
    if not buggy:
        # Unscaled before the clip, clipped between backward() and step(), softmax only for a metric,
        # log_softmax into nll_loss, nn.Dropout and F.dropout(training=self.training) in eval(): all silent.
        assert found == []
        assert all(c["used"] and c["scale"] is None for c in clips)
        return
    early_clips, norm_clips = clips[0::2], clips[1::2]
    assert [c["used"] for c in early_clips] == [False] * 3 and all(c["used"] for c in norm_clips)
    assert all(c["scale"] == 1024.0 for c in norm_clips) and all(c["scale"] is None for c in early_clips)
    assert found == [
        "3 of 6 gradient clips clipped gradients no step used",
        "3 of 6 gradient clips measured gradients still scaled by a GradScaler (x1024)",
        "cross_entropy was given softmax output 3x (it applies that itself)",
        "dropout dropped activations in a module in eval() mode 3x",
    ]


def test_a_step_the_grad_scaler_skips_still_ends_the_iteration_of_its_clip(tmp_path):
    # A loss scale so large that the first gradients overflow: scaler.step() skips optimizer.step() until
    # update() has lowered the scale. The clips in between were in their place all along.
    from autofix.harness.launch import run_probe

    script = tmp_path / "train.py"
    script.write_text(
        "import torch\nimport torch.nn as nn\n\nmodel = nn.Linear(4, 1)\n"
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "scaler = torch.amp.GradScaler('cpu', init_scale=2.0 ** 127, backoff_factor=2.0 ** -64)\n"
        "x, y = torch.randn(16, 4), torch.randn(16, 1)\nfor step in range(6):\n    optimizer.zero_grad()\n"
        "    scaler.scale(((model(x) - y) ** 2).mean() * 100).backward()\n    scaler.unscale_(optimizer)\n"
        "    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    scaler.step(optimizer)\n    scaler.update()\n"
    )
    run_ = run_probe(str(script), "cpu", 10, cwd=str(tmp_path))
    assert run_["exception"] is None, run_["exception"]
    assert 0 < run_["steps"] < 6, "some steps were skipped, some taken"
    assert len(run_["clips"]) == 6 and all(c["used"] for c in run_["clips"])
    assert not [p for p in problems(run_) if "clip" in p]
