"""GF601, GF602, GF606: the runtime facts each rule and its fix-safety note rely on, checked with torch, and each rule's
fix applied by the installed CLI (`--unsafe-fixes`) to a small program that then trains as the rule says."""
from __future__ import annotations

import subprocess
import sys

import pytest

from codemods.unregistered_submodule import RESERVED_KEYS
from conftest import run

torch = pytest.importorskip("torch")
nn = torch.nn


# --- GF601 ------------------------------------------------------------------------------------------------------

class _InList(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [nn.Linear(4, 4)]
        self.head = nn.Linear(4, 1)


class _Wrapped(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 4)])
        self.head = nn.Linear(4, 1)


def test_a_checkpoint_of_the_unfixed_model_does_not_load_strictly_into_the_fixed_one():
    # The fix-safety note of GF601: the old checkpoint never held the listed layers.
    old = _InList().state_dict()
    assert list(old) == ["head.weight", "head.bias"]
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "layers.0.weight", "layers.0.bias"'):
        _Wrapped().load_state_dict(old)
    missing = _Wrapped().load_state_dict(old, strict=False).missing_keys
    assert missing == ["layers.0.weight", "layers.0.bias"]
    with pytest.raises(RuntimeError, match=r"Unexpected key\(s\) in state_dict"):
        _InList().load_state_dict(_Wrapped().state_dict())


def test_the_fixed_model_moves_and_switches_mode_with_its_layers():
    unfixed, fixed = _InList().double().eval(), _Wrapped().double().eval()
    assert unfixed.layers[0].weight.dtype == torch.float32 and unfixed.layers[0].training
    assert fixed.layers[0].weight.dtype == torch.float64 and not fixed.layers[0].training


def test_reserved_module_dict_keys_are_every_public_attribute_of_the_containers():
    # A ModuleDict/ParameterDict key that names one of the container's attributes is refused by add_module; the
    # rule offers its fix only for keys outside this list, so the list must hold all of them.
    for container in (nn.ModuleDict(), nn.ParameterDict()):
        public = {name for name in dir(container) if not name.startswith("_")}
        assert public <= RESERVED_KEYS, sorted(public - RESERVED_KEYS)
    with pytest.raises(KeyError, match="attribute 'train' already exists"):
        nn.ModuleDict({"train": nn.Linear(1, 1)})
    nn.ModuleDict({"cls": nn.Linear(1, 1), "box_head": nn.Linear(1, 1)})


def test_wrappers_lack_the_list_and_dict_methods_the_fix_refuses():
    module_list = nn.ModuleList([nn.Linear(1, 1)])
    assert [m for m in ("sort", "index", "remove", "copy", "clear") if hasattr(module_list, m)] == []
    assert not hasattr(nn.ModuleDict(), "get") and not isinstance(module_list, list)
    assert [m for m in ("insert", "pop") if hasattr(nn.ParameterList(), m)] == []


# --- GF606 ------------------------------------------------------------------------------------------------------

def test_eval_lasts_until_train_is_called():
    # The fact GF606 relies on: after a validation pass, the next training steps run in eval mode.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8, bias=False), nn.BatchNorm1d(8), nn.Dropout(0.5))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(64, 8)
    model.eval()  # a validation pass ...
    before = model[1].running_mean.clone()
    out = model(x)  # ... and then the next epoch's training step, with no model.train()
    out.sum().backward()
    optimizer.step()
    assert torch.equal(model[1].running_mean, before), "BatchNorm statistics are frozen"
    assert int((out == 0).sum()) == 0, "dropout drops nothing"
    model.train()
    out = model(x)
    assert not torch.equal(model[1].running_mean, before) and int((out == 0).sum()) > 100


# --- each fix, applied by the CLI, trains the layer that did not train ---------------------------------------------

_GF601 = """import torch
import torch.nn as nn


class Tower(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = [nn.Linear(4, 4) for _ in range(2)]
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        for block in self.blocks:
            x = torch.tanh(block(x))
        return self.head(x)


torch.manual_seed(0)
model = Tower()
"""

_GF602 = """import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model[2] = nn.Linear(4, 1)
"""

_TRAIN = """
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
"""

_LOOP = """start = [p.detach().clone() for m in ({watched}) for p in m.parameters()]
x, y = torch.randn(16, 4), torch.randn(16, 1)
for step in range(3):
    optimizer.zero_grad()
    torch.nn.functional.mse_loss(model(x), y).backward()
    optimizer.step()
now = [p.detach() for m in ({watched}) for p in m.parameters()]
print(all(not torch.equal(a, b) for a, b in zip(start, now)))
"""


@pytest.mark.parametrize("code, program, watched", [
    ("GF601", _GF601 + _TRAIN, "*model.blocks,"),
    ("GF602", _GF602, "model[2],"),
])
def test_the_fix_makes_the_frozen_layer_train(tmp_path, code, program, watched):
    script = tmp_path / "train.py"
    script.write_text(program + _LOOP.format(watched=watched))
    assert _output(script) == "False", "as written, the layer never moves"
    fixed = run(["--fix", "--unsafe-fixes", "--select", code, "train.py"], cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout.decode() + fixed.stderr.decode()
    assert _output(script) == "True", script.read_text()


def test_the_gf606_fix_trains_every_epoch_in_training_mode(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import torch\nimport torch.nn as nn\n\ntorch.manual_seed(0)\n"
        "model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 1))\n"
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\nmodes = []\n"
        "for epoch in range(3):\n    for step in range(2):\n        optimizer.zero_grad()\n"
        "        modes.append(model.training)\n        model(torch.randn(4, 4)).sum().backward()\n"
        "        optimizer.step()\n    model.eval()\n    with torch.no_grad():\n        model(torch.randn(4, 4))\n"
        "print(modes)\n"
    )
    assert _output(script) == "[True, True, False, False, False, False]"
    fixed = run(["--fix", "--unsafe-fixes", "--select", "GF606", "train.py"], cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout.decode() + fixed.stderr.decode()
    assert _output(script) == "[True, True, True, True, True, True]"


def _output(script) -> str:
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=script.parent, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]
