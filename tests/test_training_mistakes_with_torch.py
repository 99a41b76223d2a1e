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


# --- GF608 ------------------------------------------------------------------------------------------------------

def _graph_nodes(tensor) -> int:
    seen, stack = set(), [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(next_fn for next_fn, _ in node.next_functions)
    return len(seen)


def _accumulate(iterations: int, detach: bool):
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    running_loss = 0.0
    for _ in range(iterations):
        optimizer.zero_grad()
        loss = F.mse_loss(model(torch.randn(8, 4)), torch.randn(8, 1))
        loss.backward()
        optimizer.step()
        running_loss += loss.detach() if detach else loss
    return running_loss, model


def test_running_loss_keeps_every_graph_alive_even_after_backward():
    # GF608's documentation: backward() frees the saved tensors, not the nodes; the total still grows per iteration.
    kept10, _ = _accumulate(10, detach=False)
    kept100, _ = _accumulate(100, detach=False)
    assert kept100.requires_grad and _graph_nodes(kept100) > 8 * _graph_nodes(kept10)
    detached, _ = _accumulate(100, detach=True)
    assert not detached.requires_grad and detached.grad_fn is None


def test_accumulating_detach_gives_the_same_numbers_and_the_same_training():
    # GF608's fix-safety note: the same float32 additions, bitwise; training unchanged.
    kept, model_kept = _accumulate(50, detach=False)
    detached, model_detached = _accumulate(50, detach=True)
    assert torch.equal(kept.detach(), detached) and kept.dtype == detached.dtype == torch.float32
    assert torch.equal(model_kept.weight, model_detached.weight)
    assert f"{kept / 50:.6f}" == f"{detached / 50:.6f}" and kept.item() == detached.item()
    as_float = 0.0
    torch.manual_seed(0)
    # .item() adds in float64 instead: not always the same number as the float32 total.
    kept_values = [float(v) for v in torch.rand(1000) * 10]
    total32 = torch.zeros(())
    for v in kept_values:
        total32 += torch.tensor(v)
        as_float += torch.tensor(v).item()
    assert total32.item() != as_float


GF608_PROGRAM = """\
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
running_loss = 0.0
for step in range(30):
    optimizer.zero_grad()
    loss = F.mse_loss(model(torch.randn(8, 4)), torch.randn(8, 1))
    loss.backward()
    optimizer.step()
    running_loss += loss
print(f"{running_loss / 30:.6f}", running_loss.requires_grad, model.weight.detach().tolist())
"""


def test_gf608_fix_keeps_the_output_and_drops_the_graph(tmp_path):
    fixed = _fixed(tmp_path, GF608_PROGRAM)  # safe: --fix applies it
    assert "running_loss += loss.detach()" in fixed
    before, after = _execute(tmp_path, GF608_PROGRAM).split(), _execute(tmp_path, fixed).split()
    assert before[0] == after[0] and before[2:] == after[2:]  # the same mean loss and the same trained weights
    assert (before[1], after[1]) == ("True", "False")  # and the total no longer holds a graph


# --- GF607 ------------------------------------------------------------------------------------------------------

def test_view_to_a_reordered_shape_scrambles_and_permute_does_not():
    x = torch.arange(120.0).view(2, 3, 4, 5)  # (b, c, h, w), every value distinct
    b, c, h, w = x.shape
    viewed, permuted = x.view(b, h, w, c), x.permute(0, 2, 3, 1)
    assert viewed.shape == permuted.shape
    assert (viewed != permuted).float().mean() > 0.9  # GF607's "most elements land elsewhere"
    assert torch.equal(permuted[1, 2, 3], x[1, :, 2, 3])  # permute keeps each pixel's channels together
    # Merged dimensions: view(b, h*w, c) is not the tokens either; permute then reshape is.
    tokens = x.permute(0, 2, 3, 1).reshape(b, h * w, c)
    assert not torch.equal(x.view(b, h * w, c), tokens) and torch.equal(tokens[0, 7], x[0, :, 1, 2])
    # In order, a view only regroups: the Valid examples.
    assert torch.equal(x.view(b, c, h * w), x.flatten(2))


def test_an_rnn_output_keeps_its_inputs_first_two_dimensions_in_either_layout():
    seq, batch = 5, 3
    for batch_first in (False, True):
        rnn = nn.LSTM(4, 6, batch_first=batch_first)
        x = torch.randn(batch, seq, 4) if batch_first else torch.randn(seq, batch, 4)
        out, _ = rnn(x)
        assert out.shape[:2] == x.shape[:2] and out.shape[2] == 6
    rnn = nn.LSTM(4, 6)
    out, _ = rnn(torch.randn(seq, batch, 4))
    # Read as (batch, seq, -1), one "sequence" mixes time steps of different batch items.
    assert not torch.equal(out.reshape(batch, seq, -1)[0], out[:, 0])
    assert torch.equal(out.transpose(0, 1)[0], out[:, 0])


def test_a_permuted_tensor_cannot_be_viewed_again():
    # GF607's unsafe case: the fixed result is not contiguous, so a later view() raises.
    y = torch.randn(2, 3, 4).transpose(1, 2)
    with pytest.raises(RuntimeError, match="view size is not compatible with input tensor's size and stride"):
        y.view(8, 3)
    assert y.reshape(8, 3).shape == (8, 3)


GF607_PROGRAM = """\
import torch


def to_pixels(x: torch.Tensor):
    b, c, h, w = x.shape
    return x.view(b, h, w, c)


x = torch.arange(24.0).view(1, 2, 3, 4)
print(to_pixels(x)[0, 1, 2].tolist(), x[0, :, 1, 2].tolist())
"""


def test_gf607_fix_keeps_each_pixels_channels_together(tmp_path):
    fixed = _fixed(tmp_path, GF607_PROGRAM)
    assert "return x.permute(0, 2, 3, 1)" in fixed
    assert _execute(tmp_path, GF607_PROGRAM).strip() == "[12.0, 13.0] [6.0, 18.0]"
    assert _execute(tmp_path, fixed).strip() == "[6.0, 18.0] [6.0, 18.0]"


# --- GF604's table ----------------------------------------------------------------------------------------------

def _minimise(loss_of, shape, steps=300):
    torch.manual_seed(0)
    free = torch.randn(shape, requires_grad=True)
    optimizer = torch.optim.Adam([free], lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_of(free).backward()
        optimizer.step()
    with torch.no_grad():
        return loss_of(free).item(), free.detach()


def test_log_softmax_into_cross_entropy_is_harmless():
    # The table's "right" pair: log_softmax is idempotent.
    x, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    assert torch.allclose(F.cross_entropy(F.log_softmax(x, dim=1), y), F.cross_entropy(x, y))


def test_sigmoid_into_cross_entropy_has_the_documented_floor():
    import math

    # Inputs in (0, 1): the best cross-entropy puts 1 on the target and 0 elsewhere, log(1 + (K-1)/e) for K classes.
    k = 4
    floor = math.log(1 + (k - 1) / math.e)
    corner = F.one_hot(torch.tensor([2]), k).float()
    assert abs(F.cross_entropy(corner, torch.tensor([2])).item() - floor) < 1e-6
    torch.manual_seed(0)
    sampled = torch.sigmoid(torch.randn(10_000, k) * 5)
    losses = F.cross_entropy(sampled, torch.full((10_000,), 2), reduction="none")
    assert losses.min().item() >= floor - 1e-6


def test_log_probabilities_into_the_logits_bce_cost_each_positive_at_least_log_2():
    import math

    onehot = F.one_hot(torch.randint(0, 4, (16,)), 4).float()
    floored, _ = _minimise(lambda z: F.binary_cross_entropy_with_logits(F.log_softmax(z, dim=1), onehot), (16, 4))
    raw, _ = _minimise(lambda z: F.binary_cross_entropy_with_logits(z, onehot), (16, 4))
    assert floored >= math.log(2) / 4 - 1e-3 and raw < 0.05  # a quarter of the targets are positive


def test_kl_div_on_probabilities_puts_all_mass_on_the_largest_class():
    torch.manual_seed(1)
    target = F.softmax(torch.randn(4, 5), dim=1)
    _, wrong = _minimise(lambda z: F.kl_div(F.softmax(z, dim=1), target, reduction="batchmean"), (4, 5), steps=500)
    _, right = _minimise(lambda z: F.kl_div(F.log_softmax(z, dim=1), target, reduction="batchmean"), (4, 5), steps=500)
    assert (F.softmax(wrong, dim=1).max(dim=1).values > 0.99).all()
    assert torch.equal(F.softmax(wrong, dim=1).argmax(dim=1), target.argmax(dim=1))
    assert (F.softmax(right, dim=1) - target).abs().max() < 1e-4


def test_log_softmax_into_binary_cross_entropy_raises():
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(F.log_softmax(torch.randn(4, 3), dim=1), torch.ones(4, 3))


def test_the_fixes_give_the_documented_inputs():
    # exp(log_softmax) without exp, and softmax renamed log_softmax, are exactly the log-probabilities.
    x = torch.randn(6, 4)
    assert torch.allclose(torch.log(torch.exp(F.log_softmax(x, dim=1))), F.log_softmax(x, dim=1), atol=1e-6)
    assert torch.equal(x.log_softmax(-1), F.log_softmax(x, dim=-1))
    assert torch.equal(torch.log_softmax(x, 1), F.log_softmax(x, 1))


GF604_PROGRAM = """\
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
x = torch.randn(64, 10)
y = (x[:, :3]).argmax(dim=1)
model = nn.Linear(10, 3)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
for step in range(100):
    optimizer.zero_grad()
    loss = F.nll_loss(torch.exp(F.log_softmax(model(x), dim=1)), y)
    loss.backward()
    optimizer.step()
print(round(F.cross_entropy(model(x), y).item(), 3))
"""


def test_gf604_fix_of_nll_on_probabilities_trains_better(tmp_path):
    fixed = _fixed(tmp_path, GF604_PROGRAM)
    assert "F.nll_loss(F.log_softmax(model(x), dim=1), y)" in fixed
    before, after = float(_execute(tmp_path, GF604_PROGRAM)), float(_execute(tmp_path, fixed))
    assert after < before, (before, after)  # the true cross-entropy after the same 100 steps
