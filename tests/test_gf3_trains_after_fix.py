"""GF3xx end to end on CPU: the residual block raises and the mutating forward corrupts its caller's input;
after `autofix --fix` both train without error and the input is left unchanged."""
from __future__ import annotations

import runpy

import pytest

from conftest import run

torch = pytest.importorskip("torch")

COMMON = """import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
"""

RESIDUAL_BLOCK = COMMON + """

class Block(nn.Module):
    def __init__(self, channels=4):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x
        out = self.relu(self.bn(self.conv(x)))
        out += identity
        return out


model = Block()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.randn(8, 4, 6, 6)
x_original = x.clone()
losses = []
for step in range(5):
    optimizer.zero_grad()
    loss = (model(x) - 1.0).pow(2).mean()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
"""

MUTATING_FORWARD = COMMON + """

class Head(nn.Module):
    def __init__(self, dim=8):
        super().__init__()
        self.pos = nn.Parameter(torch.full((dim,), 0.5))
        self.out = nn.Linear(dim, 1)

    def forward(self, x):
        x += self.pos
        return self.out(x)


model = Head()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(32, 8)
x_original = x.clone()
y = x.sum(dim=1, keepdim=True)
losses = []
for step in range(5):
    optimizer.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
"""


def fix(tmp_path, source: str, code: str) -> str:
    path = tmp_path / "program.py"
    path.write_text(source)
    report = run(["program.py"], tmp_path)
    assert f" {code} [*] ".encode() in report.stdout, report.stdout
    assert run(["--fix", "program.py"], tmp_path).returncode == 0
    return str(path)


def test_residual_block_raises_before_and_trains_after(tmp_path):
    (tmp_path / "before.py").write_text(RESIDUAL_BLOCK)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        runpy.run_path(str(tmp_path / "before.py"))
    result = runpy.run_path(fix(tmp_path, RESIDUAL_BLOCK, "GF303"))
    assert result["losses"][-1] < result["losses"][0]
    assert torch.equal(result["x"], result["x_original"])


def test_mutating_forward_corrupts_the_input_before_and_not_after(tmp_path):
    (tmp_path / "before.py").write_text(MUTATING_FORWARD)
    before = runpy.run_path(str(tmp_path / "before.py"))
    drift = (before["x"] - before["x_original"]).abs().max().item()
    assert drift == pytest.approx(5 * 0.5, abs=0.3), "each forward added the embedding to the caller's batch again"
    after = runpy.run_path(fix(tmp_path, MUTATING_FORWARD, "GF301"))
    assert torch.equal(after["x"], after["x_original"]), "the caller's batch is left alone"
    assert after["losses"][-1] < after["losses"][0]
    params = dict(after["model"].named_parameters())
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in params.values())
