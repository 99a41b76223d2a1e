"""GF1xx claims, checked with torch: the fixed code computes bit-identical parameters, and gradients flow."""
from __future__ import annotations

import types

import pytest

from autofix import engine
from autofix.registry import all_rules
from autofix.rule import Applicability
from conftest import DATA

torch = pytest.importorskip("torch")
nn = torch.nn

UNSAFE = frozenset({Applicability.SAFE, Applicability.UNSAFE})


def load(name: str, fixed: bool) -> types.ModuleType:
    text = (DATA / name).read_text()
    if fixed:
        result = engine.check(text, all_rules(), apply=UNSAFE)
        assert result.fixed_text, f"{name} should have a fix"
        text = result.fixed_text
    module = types.ModuleType(name[:-3])
    exec(compile(text, name, "exec"), module.__dict__)
    return module


def init_weights_run(fixed: bool) -> dict:
    mod = load("init_weights.py", fixed)
    torch.manual_seed(0)
    config = types.SimpleNamespace(initializer_range=0.02)
    net = nn.Sequential(nn.Linear(8, 8), nn.Embedding(10, 8, padding_idx=0), nn.LayerNorm(8), nn.Conv1d(8, 8, 3))
    model = mod.TinyPreTrainedModel(config)
    net.apply(model._init_weights)
    return {k: v.clone() for k, v in net.state_dict().items()}


def legacy_adam_run(fixed: bool) -> tuple[list[float], dict]:
    mod = load("legacy_optimizer.py", fixed)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))
    opt = mod.LegacyAdam(net.parameters(), lr=1e-2)
    x, y = torch.randn(32, 6), torch.randn(32, 1)
    losses = []
    for _ in range(5):
        mod.zero_grads(net)
        loss = nn.functional.mse_loss(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, {k: v.clone() for k, v in net.state_dict().items()}


def test_init_weights_fix_is_bit_identical():
    before, after = init_weights_run(False), init_weights_run(True)
    assert before.keys() == after.keys()
    for key in before:
        assert torch.equal(before[key], after[key]), key


def test_legacy_optimizer_fix_trains_bit_identically():
    (losses_before, state_before), (losses_after, state_after) = legacy_adam_run(False), legacy_adam_run(True)
    assert losses_before == losses_after
    assert losses_after[-1] < losses_after[0], "the optimizer really trains"
    for key in state_before:
        assert torch.equal(state_before[key], state_after[key]), key


def test_detach_write_keeps_the_parameter_a_trainable_leaf():
    """The claim GF101's docs make (and the popular post gets wrong): detach().zero_() does not stop gradients."""
    mod_before, mod_after = load("crlf_aliased_import.py", False), load("crlf_aliased_import.py", True)
    for mod in (mod_before, mod_after):
        head = mod.Head(4)
        assert head.proj.weight.is_leaf and head.proj.weight.requires_grad
        assert bool((head.proj.weight == 0).all())
        (head(torch.randn(3, 4)) - 1).pow(2).sum().backward()
        for p in (head.proj.weight, head.proj.bias):
            assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
