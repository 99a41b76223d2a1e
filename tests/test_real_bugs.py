"""Every reproduction in docs/real-bugs.md, end to end through the installed CLI.

Each program in tests/real_bugs/ has the shape of a bug autofix found in public code (written for this
project, not copied) and prints one JSON line measuring the symptom. For each one this test checks that
autofix reports the rule on the bug's line, fixes a copy (with the rule's own fix, or by hand where the
rule has none, and then autofix must be silent), and that the symptom is there before and gone after.
"""
from __future__ import annotations

import functools
import math
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import run

pytest.importorskip("torch")

PROGRAMS = Path(__file__).resolve().parent / "real_bugs"


def symptom_gone(before: dict, after: dict) -> bool:
    return before["symptom"] is True and after["symptom"] is False


def gradients_and_accuracy_recover(before: dict, after: dict) -> bool:
    # softmax before CrossEntropyLoss: the first step's gradient is several times smaller, accuracy lags (under
    # upstream's Adam, by about 12 points at 100 steps), and the loss sits above its floor of log(1 + 9/e) for ten
    # classes, which logits do not have
    floor = math.log(1 + 9 / math.e)
    return (after["first_grad_norm"] > 3 * before["first_grad_norm"]
            and after["accuracy"] > before["accuracy"] + 0.1
            and before["final_loss"] >= floor > after["final_loss"])


def loss_floor_lifted(before: dict, after: dict) -> bool:
    # a sigmoid before CrossEntropyLoss: the first step's gradient is several times smaller, and the loss cannot
    # go below its floor (log(1 + 1/e) for two classes), which logits go below
    return (after["first_grad_norm"] > 3 * before["first_grad_norm"]
            and before["final_loss"] >= before["floor"] > after["final_loss"])


@dataclass(frozen=True)
class Case:
    program: str
    code: str
    marker: str  # text on the line where the finding must be reported
    fix: str = "safe"  # "safe", "unsafe" (--unsafe-fixes), or "manual" (the rule has no fix: `edits` apply)
    edits: tuple[tuple[str, str], ...] = ()
    check: Callable[[dict, dict], bool] = symptom_gone
    branch: str = ""  # where the rule lives until it is merged
    occurrence: int | None = None  # which line has the marker, where it is on several (else exactly one)


CASES = [
    Case("doge_router_softmax_inplace", "GF303", "routing_weights /= routing_weights.sum"),
    Case("dbrx_router_jitter_leak", "GF301", "hidden_states *= torch.empty_like"),
    # the router's write (the first of the two identical lines); the block's own jitter is not reported
    Case("phimoe_router_double_jitter", "GF301", "hidden_states *= torch.empty_like", occurrence=0),
    Case("nlp_tutorial_bert_layers_in_forward", "GF504", "output = nn.Linear(n_heads * d_k, d_model)(context)",
         fix="manual", edits=(
             ("        self.W_V = nn.Linear(d_model, d_k * n_heads)\n",
              ("        self.W_V = nn.Linear(d_model, d_k * n_heads)\n"
               "        self.fc = nn.Linear(n_heads * d_k, d_model)\n"
               "        self.norm = nn.LayerNorm(d_model)\n")),
             ("output = nn.Linear(n_heads * d_k, d_model)(context)", "output = self.fc(context)"),
             ("return nn.LayerNorm(d_model)(output + residual)", "return self.norm(output + residual)"),
         )),
    Case("tensor_parallel_example_no_zero_grad", "GF404", "for i in range(num_iters):", fix="manual", edits=(
        ("    output = tp_model(inp)\n", "    optimizer.zero_grad()\n    output = tp_model(inp)\n"),
    )),
    Case("pixelda_softmax_into_cross_entropy", "GF604", "loss = task_loss(classifier(imgs_A), labels_A)",
         fix="manual", branch="rules-b", check=gradients_and_accuracy_recover, edits=(
             ("nn.Sequential(nn.Linear(64, n_classes), nn.Softmax(dim=1))", "nn.Sequential(nn.Linear(64, n_classes))"),
         )),
    Case("mingpt_ddp_clip_before_unscale", "GF603", "torch.nn.utils.clip_grad_norm_", branch="rules-b"),
    Case("protein_mpnn_clip_before_unscale", "GF603", "torch.nn.utils.clip_grad_norm_", branch="rules-b"),
    Case("gnn_explainer_clip_before_backward", "GF603", "torch.nn.utils.clip_grad_norm_", branch="rules-b"),
    Case("recbole_clip_before_unscale", "GF603", "clip_grad_norm_(self.model.parameters()", branch="rules-b"),
    Case("espnet_rnnp_dropout_in_eval", "GF605", "torch.tanh(F.dropout(xs_pad", branch="rules-b"),
    Case("pyg_mem_pool_dropout_in_eval", "GF605", "x = F.dropout(x, p=self.dropout)", branch="rules-b"),
    Case("cleanlab_coteaching_dropout_in_eval", "GF605", "h = F.dropout2d(h, p=self.dropout_rate)",
         branch="rules-b"),
    Case("pyg_shadow_dropout_in_eval", "GF605", "x = F.dropout(x, p=0.3)\n", branch="rules-b"),
    Case("gluonts_deepnpts_embedders_list", "GF601", "self.embedders = [", fix="unsafe", branch="rules-a"),
    Case("oneformer_input_projections_list", "GF601", "self.input_projections = []", fix="unsafe",
         branch="rules-a"),
    Case("widedeep_pretrain_eval_without_train", "GF606", "val_loss = self._eval_step(X, batch_idx)",
         fix="unsafe", branch="rules-a"),
    Case("pyg_equilibrium_median_loss_with_graph", "GF608", "total_loss += loss"),
    Case("tcn_copymem_clip_before_backward", "GF603", "torch.nn.utils.clip_grad_norm_"),
    Case("tcn_music_clip_before_backward", "GF603", "torch.nn.utils.clip_grad_norm_"),
    Case("rasbt_gan_losses_kept_with_graph", "GF608", "gener_costs.append(gener_loss)", occurrence=-1),
    Case("rasbt_cyclical_lr_epoch_cost_with_graph", "GF608", "epoch_avg_cost += cost", occurrence=-1),
    Case("pytorch_handbook_sigmoid_into_cross_entropy", "GF604", "loss = criterion(y_hat, y)", fix="manual",
         check=loss_floor_lifted, edits=(("        out = torch.sigmoid(out)\n", ""),)),
    Case("pytorch_handbook_tabular_sigmoid_into_cross_entropy", "GF604", "loss = criterion(outputs, y)",
         fix="manual", check=loss_floor_lifted, edits=(("        x = torch.sigmoid(x)\n", ""),)),
    Case("cnn_text_convs_in_list", "GF601", "self.convs1 = [nn.Conv2d(in_channels=1", fix="unsafe"),
    Case("captum_titanic_softmax_into_cross_entropy", "GF604", "loss = criterion(output, labels)", fix="manual",
         check=loss_floor_lifted, edits=(("return self.softmax(self.linear3(sigmoid_out2))",
                                          "return self.linear3(sigmoid_out2)"),)),
    Case("recbole_fwfm_weight_attribute", "GF609", "self.weight = torch.randn(self.num_fields", fix="unsafe"),
    Case("dataflowr_rnn_losses_kept_with_graph", "GF608", "loss_t.append(loss)", occurrence=-1),
    Case("heaton_perturbation_rank_softmax_into_cross_entropy", "GF604", "error = loss_fn(pred, y.long()).item()",
         fix="manual", edits=(("        pred = F.softmax(pred, dim=1)\n", ""),)),
    # GF607 reports the first reshape; the reshape back is wrong in the same way, so the edit fixes both
    Case("speechbrain_dct_multichannel_reshape", "GF607", "x = x.reshape(x.shape[0] * x.shape[3]", fix="manual",
         edits=(("x = x.reshape(x.shape[0] * x.shape[3], x.shape[1], x.shape[2])",
                 "x = x.permute(0, 3, 1, 2).reshape(x.shape[0] * x.shape[3], x.shape[1], x.shape[2])"),
                ("dct = dct.reshape(input_shape[0], dct.shape[1], dct.shape[2], input_shape[3])",
                 "dct = dct.reshape(input_shape[0], input_shape[3], dct.shape[1], dct.shape[2]).permute(0, 2, 3, 1)"))),
]


def case_id(case: Case) -> str:
    return case.program


@functools.cache
def measure_original(program: str) -> dict:
    """The buggy program's measurement: both tests need it, and it is the same run."""
    return measure(PROGRAMS / f"{program}.py")


def measure(path: Path) -> dict:
    """Run a reproduction with this interpreter; its last stdout line is the JSON measurement."""
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300, check=False,
                          cwd=path.parent)
    assert done.returncode == 0, f"{path.name} failed:\n{done.stderr[-2000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def line_of(source: str, marker: str, occurrence: int | None) -> int:
    lines = [number for number, line in enumerate(source.splitlines(keepends=True), 1) if marker in line]
    if occurrence is not None:
        return lines[occurrence]
    assert len(lines) == 1, f"marker {marker!r} must be on exactly one line, found {lines}"
    return lines[0]


def findings(path: Path, code: str) -> list[dict]:
    report = run(["--preview", "--no-cache", "--select", code, "--format", "json", path.name], path.parent)
    assert report.returncode in (0, 1), report.stderr.decode()
    return [f for f in json.loads(report.stdout) if f["code"] == code]


def rule_available(code: str, tmp_path: Path) -> bool:
    return run(["explain", code], tmp_path).returncode == 0


def test_every_program_has_a_case():
    assert sorted(p.stem for p in PROGRAMS.glob("*.py")) == sorted(c.program for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_bug_program_shows_the_symptom(case):
    """The program with the bug's shape runs and shows the failure, whatever rules this build has."""
    result = measure_original(case.program)
    if "symptom" in result:
        assert result["symptom"] is True, result


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_autofix_finds_and_fixes(case, tmp_path):
    if not rule_available(case.code, tmp_path):
        pytest.skip(f"{case.code} is not in this build (it is on branch {case.branch or '?'})")
    original = (PROGRAMS / f"{case.program}.py").read_text()
    program = tmp_path / f"{case.program}.py"
    program.write_text(original)

    reported = findings(program, case.code)
    assert line_of(original, case.marker, case.occurrence) in [f["line"] for f in reported], reported

    if case.fix == "manual":
        fixed = original
        for old, new in case.edits:
            assert fixed.count(old) == 1, f"edit target {old!r} must occur once"
            fixed = fixed.replace(old, new)
        program.write_text(fixed)
    else:
        args = ["--fix", "--preview", "--no-cache", "--select", case.code]
        if case.fix == "unsafe":
            args.append("--unsafe-fixes")
        done = run(args + [program.name], tmp_path)
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
        fixed = program.read_text()
    assert fixed != original
    assert findings(program, case.code) == [], "the fixed program is still reported"

    before, after = measure_original(case.program), measure(program)
    assert case.check(before, after), {"before": before, "after": after}
