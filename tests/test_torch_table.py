"""The torch table (autofix/semantic/torch_ops.json): it is what torch says, and autofix reads it without torch."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

import pytest

from autofix.semantic import torch_ops
from conftest import ROOT, run

GENERATOR = ROOT / "tools" / "torch_table.py"
TABLE = ROOT / "autofix" / "semantic" / "torch_ops.json"


def test_committed_table_is_what_the_installed_torch_says():
    torch = pytest.importorskip("torch")
    recorded = json.loads(TABLE.read_text(encoding="utf-8"))["torch"]
    if torch.__version__ != recorded:
        pytest.skip(f"the table was generated from torch {recorded}, this is {torch.__version__}")
    result = subprocess.run([sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr


def test_check_reports_a_table_that_differs(monkeypatch, capsys):
    # --check on a torch that says one thing differently: it names the op and exits 1. (The regeneration is
    # replaced by the committed table with one fact flipped; the test above runs the real one.)
    spec = importlib.util.spec_from_file_location("torch_table", GENERATOR)
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    committed = json.loads(TABLE.read_text(encoding="utf-8"))
    assert generator.render(committed) == TABLE.read_text(encoding="utf-8")
    committed["ops"]["Tensor.exp"]["saves_output"] = False
    monkeypatch.setattr(generator, "generate", lambda: committed)
    assert generator.main(["--check"]) == 1
    captured = capsys.readouterr()
    assert '+    "Tensor.exp": {' in captured.out and '"saves_output": false' in captured.out
    assert "differs" in captured.err


@pytest.mark.parametrize(
    ("query", "name", "expected"),
    [
        (torch_ops.saves_output, "Tensor.exp", True),
        (torch_ops.saves_output, "torch.nn.functional.softmax", True),
        (torch_ops.saves_output, "torch.nn.functional.silu", False),  # SiLU saves its input
        (torch_ops.module_saves_output, "torch.nn.ReLU", True),
        (torch_ops.module_saves_output, "torch.nn.GELU", False),
        (torch_ops.function_saves_output, "torch.nn.ReLU", False),  # building the module is not calling it
        (torch_ops.returns_view, "Tensor.transpose", True),
        (torch_ops.returns_view, "Tensor.T", True),
        (torch_ops.returns_view, "Tensor.clone", False),
        (torch_ops.is_inplace, "Tensor.add_", True),
        (torch_ops.is_inplace, "Tensor.add", False),
        (torch_ops.is_inplace, "Tensor.share_memory_", False),  # changes no values: the version stays
        (torch_ops.differentiable, "Tensor.argmax", False),
        (torch_ops.differentiable, "torch.nn.functional.relu", True),
        (torch_ops.integer_result, "Tensor.eq", True),
        (torch_ops.integer_result, "Tensor.detach", False),  # not differentiable, but float
        (torch_ops.returns_non_tensor, "Tensor.size", True),
        (torch_ops.returns_non_tensor, "Tensor.type", False),  # `x.type(torch.float64)` is a tensor
        (torch_ops.returns_tensor_list, "Tensor.chunk", True),
        (torch_ops.nondifferentiable_fields, "Tensor.topk", ("indices",)),
        (torch_ops.differentiable, "torch.no_such_op", None),
        (torch_ops.saves_output, "torch.no_such_op", False),
        (torch_ops.module_parameters, "torch.nn.Linear", frozenset({"weight", "bias"})),
        (torch_ops.module_parameters, "torch.nn.modules.linear.Linear", frozenset({"weight", "bias"})),
        (torch_ops.module_parameters, "torch.nn.ReLU", frozenset()),
        (torch_ops.module_buffers, "torch.nn.BatchNorm2d", frozenset({"running_mean", "running_var", "num_batches_tracked"})),
        (torch_ops.module_parameters, "torch.nn.NoSuchLayer", None),
    ],
)
def test_queries(query, name, expected):
    assert query(name) == expected


def test_saved_outputs_in_the_table_do_make_backward_raise():
    torch = pytest.importorskip("torch")
    # Spot checks outside the generator's own code path: a write to the result of each op breaks backward.
    x = (torch.rand(3, 5) + 0.5).requires_grad_()
    ops = {"torch.logsumexp": lambda t: torch.logsumexp(t, -1), "Tensor.std": lambda t: t.std(-1),
           "torch.special.expit": torch.special.expit, "Tensor.norm": lambda t: t.norm(dim=-1)}
    for name, op in ops.items():
        assert torch_ops.saves_output(name), name
        out = op(x)
        out.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()


def test_autofix_reads_the_table_without_torch(tmp_path):
    # torch hidden: importing it fails. GF303 still knows from the table that logsumexp saves its result.
    hidden = tmp_path / "hidden"
    (hidden / "torch").mkdir(parents=True)
    (hidden / "torch" / "__init__.py").write_text("raise ImportError('torch is hidden in this test')\n")
    source = tmp_path / "pool.py"
    source.write_text(textwrap.dedent("""\
        import torch
        import torch.nn as nn


        class Pool(nn.Module):
            def forward(self, x):
                w = torch.logsumexp(x, dim=-1)
                w += 1
                return w
        """))
    result = run([str(source)], cwd=tmp_path, env={"PYTHONPATH": str(hidden)})
    out = result.stdout.decode()
    assert result.returncode == 1, out + result.stderr.decode()
    assert "GF303" in out and "logsumexp" in out


def test_gf303_knows_every_op_the_table_says_saves_its_output(tmp_path):
    # Before the table, GF303 knew 15 such ops by name; these four were silent. Each one's write makes
    # backward() raise on torch 2.13 (test_saved_outputs_in_the_table_do_make_backward_raise above).
    source = tmp_path / "pool.py"
    source.write_text(textwrap.dedent("""\
        import torch
        import torch.nn as nn


        class Pool(nn.Module):
            def __init__(self):
                super().__init__()
                self.act = nn.Softmin(dim=-1)

            def forward(self, x):
                w = torch.logsumexp(x, dim=-1)
                w += 1
                s = x.std(dim=-1)
                s /= 2
                n = x.norm(dim=-1)
                n[0] = 0
                m = self.act(x)
                m += x
                c = torch.cos(x)
                c += 1
                return w, s, n, m, c
        """))
    result = run([str(source)], cwd=tmp_path)
    lines = [line for line in result.stdout.decode().splitlines() if " GF303 " in line]
    assert [line.split(":")[1] for line in lines] == ["12", "14", "16", "18"], lines  # not cos (saves its input)
    assert ["logsumexp" in lines[0], "std" in lines[1], "norm" in lines[2], "Softmin" in lines[3]] == [True] * 4


def test_gf201_knows_integer_and_boolean_results_from_the_table(tmp_path):
    torch = pytest.importorskip("torch")
    source = tmp_path / "train.py"
    source.write_text(textwrap.dedent("""\
        import torch
        import torch.nn as nn

        model = nn.Linear(4, 3)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)


        def accuracy_as_loss(x, y):
            loss = model(x).eq(y).float().mean()
            loss.backward()
            opt.step()


        def closeness_as_loss(x, y):
            loss = torch.isclose(model(x), y).sum().float()
            loss.backward()
            opt.step()
        """))
    result = run([str(source)], cwd=tmp_path)
    out = result.stdout.decode()
    assert "train.py:9:12: GF201 `.eq()` is not differentiable" in out, out
    assert "train.py:15:12: GF201 `.isclose()` is not differentiable" in out, out
    # What the findings claim: backward() on either loss raises.
    output = torch.nn.Linear(4, 3)(torch.randn(2, 4))
    for loss in (output.eq(torch.zeros(2, 3)).float().mean(), torch.isclose(output, torch.zeros(2, 3)).sum().float()):
        with pytest.raises(RuntimeError, match="does not require grad"):
            loss.backward()


def test_gf303_knows_which_ops_saved_the_written_input_from_the_table(tmp_path):
    torch = pytest.importorskip("torch")
    source = tmp_path / "block.py"
    source.write_text(textwrap.dedent("""\
        import torch
        import torch.nn as nn


        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.pool = nn.AvgPool1d(3, stride=1, padding=1)
                self.drop = nn.Dropout(0.1)

            def forward(self, x):
                x = self.proj(x)
                x /= torch.norm(x, dim=-1, keepdim=True)
                x += self.pool(x)
                x += self.drop(x)
                return x

            def noise(self, n):
                g = torch.randn(n)
                g -= torch.min(g)
                return g
        """))
    result = run([str(source)], cwd=tmp_path)
    lines = [line for line in result.stdout.decode().splitlines() if " GF303 " in line]
    # Dropout keeps a mask, not x, and the noise is plain data (torch.min saved it, but it requires no grad):
    # only the first two are reported (main knew neither).
    assert [line.split(":")[1] for line in lines] == ["13", "14"], lines
    assert "torch.norm" in lines[0] and "self.pool(x)" in lines[1]
    pool = torch.nn.AvgPool1d(3, stride=1, padding=1)
    for write in (lambda x: x.div_(torch.norm(x, dim=-1, keepdim=True)), lambda x: x.add_(pool(x))):
        x = torch.randn(2, 4, 5, requires_grad=True) * 1
        write(x)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            x.sum().backward()


def test_module_slots_in_the_table_are_parameters_of_the_built_layer():
    torch = pytest.importorskip("torch")
    # Outside the generator's code path: layers built with other arguments than the generator's smallest ones.
    layers = {"torch.nn.LSTM": torch.nn.LSTM(3, 5), "torch.nn.MultiheadAttention": torch.nn.MultiheadAttention(8, 2),
              "torch.nn.Embedding": torch.nn.Embedding(7, 3), "torch.nn.Conv2d": torch.nn.Conv2d(2, 6, 3)}
    for name, layer in layers.items():
        slots = torch_ops.module_parameters(name)
        assert slots, name
        for slot in slots:
            assert getattr(layer, slot) is None or isinstance(getattr(layer, slot), torch.nn.Parameter), (name, slot)
