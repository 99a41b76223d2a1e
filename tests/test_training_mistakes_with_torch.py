"""GF604 (its table of loss/activation pairs), GF607, GF608, GF609: the runtime facts each rule's documentation
states, checked with torch, and each rule's fix applied by the installed CLI to a small program that then runs as
the rule says."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import run

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


def _fixed(tmp_path, source: str, *flags: str) -> str:
    """The program as the installed CLI fixes it."""
    path = tmp_path / "program.py"
    path.write_text(source)
    result = run(["--fix", *flags, "program.py"], cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr.decode()
    return path.read_text()


def _execute(tmp_path, source: str) -> str:
    path = tmp_path / "run_me.py"
    path.write_text(source)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


# --- GF609 ------------------------------------------------------------------------------------------------------

class _Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.scale = torch.ones(3, requires_grad=True)

    def forward(self, x):
        return self.fc(x) * self.scale


class _Registered(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.scale = nn.Parameter(torch.ones(3))

    def forward(self, x):
        return self.fc(x) * self.scale


def test_a_plain_trainable_attribute_is_never_registered_trained_moved_or_cleared():
    torch.manual_seed(0)
    model = _Plain()
    assert [n for n, _ in model.named_parameters()] == ["fc.weight", "fc.bias"]
    assert list(model.state_dict()) == ["fc.weight", "fc.bias"]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    norms = []
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.randn(4, 3)).pow(2).sum().backward()
        optimizer.step()
        norms.append(float(model.scale.grad.norm()))
    assert torch.equal(model.scale, torch.ones(3))  # never updated ...
    assert norms[0] < norms[1] < norms[2]  # ... while zero_grad() never clears its gradient, which keeps growing
    model.double()
    assert model.fc.weight.dtype == torch.float64 and model.scale.dtype == torch.float32  # not cast by .double()


def test_after_nn_parameter_the_old_checkpoint_no_longer_loads_strictly():
    # GF609's fix-safety note: the state_dict gains a key.
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "scale"'):
        _Registered().load_state_dict(_Plain().state_dict())
    assert _Registered().load_state_dict(_Plain().state_dict(), strict=False).missing_keys == ["scale"]


GF609_PROGRAM = """\
import torch
import torch.nn as nn


class Calibrated(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.scale = torch.ones(2, requires_grad=True)

    def forward(self, x):
        return self.fc(x) * self.scale


torch.manual_seed(0)
model = Calibrated()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for _ in range(5):
    optimizer.zero_grad()
    (model(torch.randn(8, 4)) - 3).pow(2).mean().backward()
    optimizer.step()
print(sorted(model.state_dict()), model.scale.detach().tolist())
"""


def test_gf609_fix_makes_the_tensor_train_and_be_saved(tmp_path):
    assert _fixed(tmp_path, GF609_PROGRAM) == GF609_PROGRAM  # unsafe: --fix alone leaves it
    fixed = _fixed(tmp_path, GF609_PROGRAM, "--unsafe-fixes")
    assert "self.scale = nn.Parameter(torch.ones(2))" in fixed
    before, after = _execute(tmp_path, GF609_PROGRAM), _execute(tmp_path, fixed)
    assert before.strip() == "['fc.bias', 'fc.weight'] [1.0, 1.0]"
    assert after.startswith("['fc.bias', 'fc.weight', 'scale'] ") and "[1.0, 1.0]" not in after
