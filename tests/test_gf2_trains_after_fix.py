"""GF2xx end to end: the shipped buggy scripts crash or train nothing; after `autofix --fix` they train."""
from __future__ import annotations

import importlib.util
import shutil

import pytest

from conftest import ROOT, run

torch = pytest.importorskip("torch")

SCRIPTS = {
    "detached_loss.py": "raises",  # backward() on a detached loss
    "rewrapped_loss.py": "silent",  # a new leaf: no parameter gets a gradient
}


def load(path):
    spec = importlib.util.spec_from_file_location(path.stem + "_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_and_watch(module, steps=5):
    """Train with hooks on every parameter: (gradients seen per parameter, movement per parameter, losses)."""
    model = module.build()
    start = {name: p.detach().clone() for name, p in model.named_parameters()}
    grads: dict[str, list] = {name: [] for name in start}
    for name, p in model.named_parameters():
        p.register_post_accumulate_grad_hook(lambda param, name=name: grads[name].append(param.grad.detach().clone()))
    losses = module.train(model, steps=steps)
    moved = {name: (p.detach() - start[name]).norm().item() for name, p in model.named_parameters()}
    return grads, moved, losses


@pytest.mark.parametrize("name, before", SCRIPTS.items())
def test_script_trains_after_fix(tmp_path, name, before):
    script = tmp_path / name
    shutil.copyfile(ROOT / "examples" / name, script)

    original = load(script)
    if before == "raises":
        with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
            train_and_watch(original)
    else:
        grads, moved, _ = train_and_watch(original)
        assert all(not g for g in grads.values()), "the original silently trains nothing"
        assert all(m == 0 for m in moved.values())

    diff = run(["--diff", name], tmp_path)
    assert diff.returncode == 1 and diff.stdout.startswith(f"--- a/{name}".encode())
    assert run(["--fix", name], tmp_path).returncode == 0

    grads, moved, losses = train_and_watch(load(script), steps=5)
    for param, seen in grads.items():
        assert len(seen) == 5, f"{param} got a gradient every step"
        assert all(torch.isfinite(g).all() and g.abs().sum() > 0 for g in seen), param
        assert moved[param] > 0, f"{param} moved"
    assert losses[-1] < losses[0], "the loss falls"
