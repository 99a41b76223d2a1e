"""GF2xx end to end: the shipped buggy scripts crash or train nothing; after `autofix --fix` they train."""
from __future__ import annotations

import importlib.util
import shutil

import pytest

from autofix.registry import all_rules
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


# --- flow across functions: the examples' runtime claims, checked with torch --------------------------------

def _example(code: str, reason_start: str):
    rule = next(r for r in all_rules() if r.code == code)
    return next(e for e in rule.examples if e.reason.startswith(reason_start))


def _namespace(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<example>", "exec"), namespace)  # noqa: S102 - our own example program
    return namespace


def test_a_forward_that_rewraps_its_predictions_trains_nothing_until_fixed(tmp_path):
    example = _example("GF202", "a forward re-wraps its predictions")
    torch.manual_seed(0)
    x, y = torch.randn(4, 8), torch.randn(4, 3)

    def head_grads(source):
        namespace = _namespace(source)
        model = namespace["MultiHead"]()
        loss = torch.nn.functional.mse_loss(model(x)["prediction"], y)
        loss.backward()  # no error: the re-wrapped predictions are leaves that require grad
        return [p.grad for p in model.parameters()]

    assert all(g is None for g in head_grads(example.code)), "no head receives a gradient"
    script = tmp_path / "multi_head.py"
    script.write_text(example.code)
    assert run(["--fix", "--select", "GF202", script.name], tmp_path).returncode == 0
    fixed = head_grads(script.read_text())
    assert all(g is not None and g.abs().sum() > 0 for g in fixed), "after the fix every head trains"


def test_a_perceptual_term_made_with_torch_Tensor_adds_no_gradient():
    example = _example("GF202", "a perceptual loss returned as")
    namespace = _namespace(example.code)
    torch.manual_seed(0)
    netG, netD = torch.nn.Conv2d(3, 3, 1), torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(1))
    z, real, ones = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8), torch.ones(2, 1)

    def generator_grad(with_perceptual: bool):
        netG.zero_grad()
        if with_perceptual:
            namespace["g_step"](netG, netD, z, real, ones, "cpu")
        else:
            fake = netG(z)
            torch.nn.functional.binary_cross_entropy_with_logits(netD(fake), ones).backward()
        return netG.weight.grad.clone()

    without = generator_grad(False)
    assert torch.equal(generator_grad(True), without), "the content term changes no gradient of the generator"
    content = torch.nn.functional.l1_loss(netG(z), real)
    assert content.grad_fn is not None and torch.Tensor([content]).grad_fn is None
