"""GF4xx end to end: each ordering bug in a small training loop, trained on CPU before and after `autofix --fix`."""
from __future__ import annotations

import pytest

from conftest import run

torch = pytest.importorskip("torch")

PRELUDE = """import torch
import torch.nn as nn
import torch.nn.functional as F


def train(steps=6):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    x = torch.randn(32, 6)
    y = x.sum(dim=1, keepdim=True)
    start = [p.detach().clone() for p in model.parameters()]
    losses, lrs = [], []
    for _ in range(steps):
"""
EPILOGUE = """        losses.append(loss.item())
    moved = [(p.detach() - s).norm().item() for p, s in zip(model.parameters(), start)]
    return moved, losses, lrs
"""

BUGS = {
    # GF401: the step between the forward pass and backward() writes to saved parameters (the gradients are
    # zero tensors, not None): backward() raises in this two-layer model from the second iteration on.
    "step-between-forward-and-backward": (
        "        loss = F.mse_loss(model(x), y)\n        optimizer.step()\n        loss.backward()\n"
        "        optimizer.zero_grad(set_to_none=False)\n",
        "raises",
        "GF401",
    ),
    # GF401: the same, with gradients cleared to None first: the step skips every parameter, silently.
    "step-between-forward-and-backward-after-zero-grad": (
        "        optimizer.zero_grad()\n        loss = F.mse_loss(model(x), y)\n        optimizer.step()\n"
        "        loss.backward()\n",
        "unchanged",
        "GF401",
    ),
    # GF401: the step first, gradients cleared after backward(): every step sees zeros.
    "step-before-forward": (
        "        optimizer.step()\n        loss = F.mse_loss(model(x), y)\n        loss.backward()\n"
        "        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)\n        optimizer.zero_grad()\n",
        "unchanged",
        "GF401",
    ),
    # GF401: weight decay written by hand into the parameters between the loss and its backward(): backward()
    # raises in this two-layer model (the parameters it saved were modified).
    "parameter-written-between-loss-and-backward": (
        "        loss = F.mse_loss(model(x), y)\n        with torch.no_grad():\n"
        "            for p in model.parameters():\n                p.mul_(0.999)\n        loss.backward()\n"
        "        optimizer.step()\n        optimizer.zero_grad()\n",
        "raises",
        "GF401",
    ),
    # GF402: zero_grad between backward and step, with clipping in between.
    "zero-grad-between-backward-and-step": (
        "        loss = F.mse_loss(model(x), y)\n        loss.backward()\n        optimizer.zero_grad()\n"
        "        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)\n        optimizer.step()\n",
        "unchanged",
        "GF402",
    ),
}


def run_source(source: str):
    namespace: dict = {}
    exec(compile(source, "<training loop>", "exec"), namespace)
    return namespace["train"]()


def fixed_source(tmp_path, source: str, code: str) -> str:
    path = tmp_path / "loop.py"
    path.write_text(source)
    report = run(["loop.py"], tmp_path)
    assert report.returncode == 1 and f" {code} [*] ".encode() in report.stdout, report.stdout
    assert run(["--fix", "loop.py"], tmp_path).returncode == 0
    return path.read_text()


@pytest.mark.parametrize("bug", BUGS)
def test_ordering_bug_trains_after_fix(tmp_path, bug):
    body, before, code = BUGS[bug]
    source = PRELUDE + body + EPILOGUE
    if before == "raises":
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            run_source(source)
    else:
        moved, _, _ = run_source(source)
        assert all(m == 0 for m in moved), "the original leaves every parameter unchanged"

    moved, losses, _ = run_source(fixed_source(tmp_path, source, code))
    assert all(m > 0 for m in moved), "every parameter changes after the fix"
    assert losses[-1] < losses[0], "and the loss falls"


def test_scheduler_after_optimizer_starts_the_schedule_at_its_first_value(tmp_path):
    body = (
        "        scheduler.step()\n        optimizer.zero_grad()\n        loss = F.mse_loss(model(x), y)\n"
        "        loss.backward()\n        lrs.append(optimizer.param_groups[0]['lr'])\n        optimizer.step()\n"
    )
    source = PRELUDE + body + EPILOGUE
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        _, _, lrs_before = run_source(source)
    assert lrs_before[:3] == [0.05, 0.025, 0.0125], "the first value (0.1) is skipped"
    _, _, lrs_after = run_source(fixed_source(tmp_path, source, "GF403"))
    assert lrs_after[:3] == [0.1, 0.05, 0.025]
