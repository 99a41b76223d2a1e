"""GF610: the runtime facts the rule relies on, checked with torch (an evaluation under no_grad in training mode
moves BatchNorm's statistics and makes dropout's loss vary; eval() stops both), the table of layers whose forward
depends on the mode, and the rule's fix applied by the installed CLI to a program that then evaluates in eval mode
and trains on in training mode."""
from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
from conftest import run

from codemods._modes import ALWAYS, DROPOUT_BY_DEFAULT, RECURRENT, TRACKING

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


def _validation_passes(model, batch, target, passes=5):
    """Five validation passes under no_grad: the losses, and how far BatchNorm's running statistics moved."""
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm1d))
    mean0, var0 = bn.running_mean.clone(), bn.running_var.clone()
    losses = []
    with torch.no_grad():
        for _ in range(passes):
            losses.append(F.cross_entropy(model(batch), target).item())
    return losses, float((bn.running_mean - mean0).abs().sum()), float((bn.running_var - var0).abs().sum())


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 3))


def test_evaluation_in_train_mode_moves_batchnorm_and_varies_the_loss():
    batch = torch.randn(64, 6) * 3 + 2  # validation data whose statistics differ from the initial (0, 1)
    target = torch.randint(0, 3, (64,))
    losses, moved_mean, moved_var = _validation_passes(_net(), batch, target)
    assert moved_mean > 0.5 and moved_var > 0.5  # the trained model itself changed
    assert max(losses) - min(losses) > 0.01  # one fixed batch, a different loss each pass

    model = _net()
    model.eval()
    losses, moved_mean, moved_var = _validation_passes(model, batch, target)
    assert moved_mean == 0 and moved_var == 0
    assert len(set(losses)) == 1


def test_inference_mode_in_train_mode_moves_batchnorm_too():
    model = _net()
    bn = model[1]
    mean0 = bn.running_mean.clone()
    with torch.inference_mode():
        model(torch.randn(16, 6) + 1)
    assert not torch.equal(mean0, bn.running_mean)


def _depends_on_mode(module, *inputs) -> bool:
    """The forward differs between training and eval mode, or a training-mode forward moves a buffer."""
    torch.manual_seed(0)
    module.train()
    with torch.no_grad():
        module(*inputs)  # a lazy module initialises itself
        buffers = [b.clone() for b in module.buffers()]
        trained = module(*inputs)
    moved = any(not torch.equal(a, b) for a, b in zip(buffers, module.buffers()))
    module.eval()
    with torch.no_grad():
        evaluated = module(*inputs)
    trained = trained[0] if isinstance(trained, tuple) else trained
    evaluated = evaluated[0] if isinstance(evaluated, tuple) else evaluated
    return moved or not torch.allclose(trained, evaluated)


_X2, _X3, _X4, _X5 = torch.randn(8, 6), torch.randn(8, 6, 5), torch.randn(8, 6, 5, 5), torch.randn(8, 6, 3, 3, 3)
_SEQ = torch.randn(8, 5, 6)
_BUILT = {
    "Dropout": lambda: (nn.Dropout(), _X2), "Dropout1d": lambda: (nn.Dropout1d(), _X3),
    "Dropout2d": lambda: (nn.Dropout2d(), _X4), "Dropout3d": lambda: (nn.Dropout3d(), _X5),
    "AlphaDropout": lambda: (nn.AlphaDropout(), _X2), "FeatureAlphaDropout": lambda: (nn.FeatureAlphaDropout(), _X4),
    "BatchNorm1d": lambda: (nn.BatchNorm1d(6), _X2), "BatchNorm2d": lambda: (nn.BatchNorm2d(6), _X4),
    "BatchNorm3d": lambda: (nn.BatchNorm3d(6), _X5), "LazyBatchNorm1d": lambda: (nn.LazyBatchNorm1d(), _X2),
    "LazyBatchNorm2d": lambda: (nn.LazyBatchNorm2d(), _X4), "LazyBatchNorm3d": lambda: (nn.LazyBatchNorm3d(), _X5),
    "RReLU": lambda: (nn.RReLU(), _X2),
}


@pytest.mark.parametrize("name", sorted(ALWAYS - {"SyncBatchNorm"}))
def test_layers_that_always_depend_on_the_mode(name):
    module, x = _BUILT[name]()
    assert _depends_on_mode(module, x)


def test_layers_that_depend_on_the_mode_by_their_arguments():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert DROPOUT_BY_DEFAULT == {"Transformer", "TransformerEncoderLayer", "TransformerDecoderLayer"}
        assert _depends_on_mode(nn.TransformerEncoderLayer(6, 2, 12), _SEQ)  # dropout=0.1 by default
        assert not _depends_on_mode(nn.TransformerEncoderLayer(6, 2, 12, dropout=0.0), _SEQ)
        assert _depends_on_mode(nn.TransformerDecoderLayer(6, 2, 12), _SEQ, _SEQ)
        assert _depends_on_mode(nn.Transformer(6, 2, 1, 1, 12), _SEQ, _SEQ)
        for name in TRACKING - {"LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d"}:
            x = {"1d": _X3, "2d": _X4, "3d": _X5}[name[-2:]]
            assert not _depends_on_mode(getattr(nn, name)(6), x)  # batch statistics in both modes
            assert _depends_on_mode(getattr(nn, name)(6, track_running_stats=True), x)
        for name in RECURRENT:
            assert not _depends_on_mode(getattr(nn, name)(5, 4, num_layers=2), _X3)  # dropout=0 by default
            assert _depends_on_mode(getattr(nn, name)(5, 4, num_layers=2, dropout=0.5), _X3)
        assert not _depends_on_mode(nn.MultiheadAttention(6, 2), _SEQ, _SEQ, _SEQ)
        assert _depends_on_mode(nn.MultiheadAttention(6, 2, dropout=0.5), _SEQ, _SEQ, _SEQ)
        assert not _depends_on_mode(nn.Dropout(0.0), _X2)
        assert not _depends_on_mode(nn.BatchNorm1d(6, track_running_stats=False), _X2)
        for plain in (nn.LayerNorm(6), nn.Linear(6, 6)):
            assert not _depends_on_mode(plain, _X2)
        assert not _depends_on_mode(nn.GroupNorm(2, 6), _X4)


_PROGRAM = """\
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(6, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(64, 6), torch.randint(0, 3, (64,))
x_val, y_val = torch.randn(32, 6) * 3 + 2, torch.randint(0, 3, (32,))
modes, moved = [], []
for epoch in range(3):
    for step in range(2):
        optimizer.zero_grad()
        modes.append(model.training)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    before = model[1].running_mean.clone()
    with torch.no_grad():
        val = F.cross_entropy(model(x_val), y_val).item()
    moved.append(not torch.equal(before, model[1].running_mean))
print(modes, moved)
"""


def test_the_fix_evaluates_in_eval_mode_and_trains_on(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(_PROGRAM)
    assert _output(script) == "[True, True, True, True, True, True] [True, True, True]"
    found = run(["--select", "GF610", "train.py"], cwd=tmp_path)
    assert found.returncode == 1 and b"GF610" in found.stdout, found.stdout.decode() + found.stderr.decode()
    fixed = run(["--fix", "--unsafe-fixes", "--select", "GF610", "train.py"], cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout.decode() + fixed.stderr.decode()
    assert _output(script) == "[True, True, True, True, True, True] [False, False, False]"
    again = run(["--select", "GF610", "train.py"], cwd=tmp_path)
    assert again.returncode == 0, again.stdout.decode()


def test_the_cli_is_silent_where_a_caller_set_eval(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import torch\nimport torch.nn as nn\n\n\n@torch.no_grad()\ndef evaluate(net, x):\n"
        "    return net(x).mean()\n\n\n"
        "def main(x):\n    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))\n    model.eval()\n"
        "    return evaluate(model, x)\n\n\n"
        "def report(x):\n    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))\n    return evaluate(model, x)\n"
    )
    found = run(["--select", "GF610", "train.py"], cwd=tmp_path)
    assert found.returncode == 0, found.stdout.decode()  # report() passes train mode, main() eval: not every caller
    script.write_text(script.read_text().replace("    model.eval()\n", ""))
    found = run(["--select", "GF610", "train.py"], cwd=tmp_path)
    assert found.returncode == 1 and b"train.py:7" in found.stdout, found.stdout.decode()


def _output(script) -> str:
    done = subprocess.run([sys.executable, str(script)], check=False, capture_output=True, text=True,
                          cwd=script.parent, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_layers_of_a_class_of_another_file_come_from_the_project_index(tmp_path):
    (tmp_path / "model.py").write_text(
        "import torch.nn as nn\n\n\nclass Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 3, 3, padding=1)\n        self.bn = nn.BatchNorm2d(3)\n\n"
        "    def forward(self, x):\n        return self.bn(self.conv(x))\n\n\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.block = Block()\n\n"
        "    def forward(self, x):\n        return self.block(x).mean((1, 2, 3))\n"
    )
    main = tmp_path / "main.py"
    main.write_text(
        "import torch\nfrom model import Net\n\nmodel = Net()\n"
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n\n\n"
        "def train(loader):\n    for x, y in loader:\n        optimizer.zero_grad()\n"
        "        (model(x) - y).pow(2).mean().backward()\n        optimizer.step()\n\n\n"
        "def test(loader):\n    with torch.no_grad():\n        for x, y in loader:\n"
        "            print((model(x) - y).abs().mean())\n\n\n"
        "for epoch in range(3):\n    train([])\n    test([])\n"
    )
    found = run(["--select", "GF610", "."], cwd=tmp_path)
    assert found.returncode == 1 and b"main.py:18" in found.stdout and b"nn.BatchNorm2d" in found.stdout, \
        found.stdout.decode() + found.stderr.decode()
    # Without BatchNorm in Block, the same program evaluates identically in either mode.
    layers = tmp_path / "model.py"
    layers.write_text(layers.read_text().replace("nn.BatchNorm2d(3)", "nn.Identity()"))
    assert run(["--select", "GF610", "."], cwd=tmp_path).returncode == 0
