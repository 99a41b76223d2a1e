"""The training-step model (autofix/semantic/training_step.py): what each optimizer holds, whose parameters a loss
reaches, what a walk back from a step finds, the mode at a call; and, end to end through the installed CLI, the
DCGAN loop of issue 26 reported on the generator's step, fixed so that the generator trains, and checked again."""
from __future__ import annotations

import ast
import subprocess
import sys

import pytest
from conftest import run

from autofix.semantic import SemanticModel, TrainingSteps

GAN_HEADER = (
    "import torch\nimport torch.nn as nn\n\n"
    "netG = nn.Sequential(nn.Linear(4, 8), nn.Tanh())\nnetD = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())\n"
    "bce = nn.BCELoss()\noptD = torch.optim.Adam(netD.parameters())\noptG = torch.optim.Adam(netG.parameters())\n"
)


def steps_of(source: str) -> tuple[SemanticModel, TrainingSteps]:
    model = SemanticModel(ast.parse(source), source)
    return model, TrainingSteps.of(model)


def statement_at(model: SemanticModel, line: int) -> ast.stmt:
    return next(s for s in model.nodes(ast.Expr, ast.Assign) if s.lineno == line)


def last_call(model: SemanticModel, method: str) -> ast.Call:
    return list(model.calls_to_method(method))[-1]


@pytest.mark.parametrize(
    "construction, owners",
    [
        ("torch.optim.Adam(netG.parameters())", {"netG"}),
        ("torch.optim.Adam(list(netG.parameters()) + list(netD.parameters()))", {"netG", "netD"}),
        ("torch.optim.Adam(itertools.chain(netG.parameters(), netD.fc.parameters()))", {"netG", "netD.fc"}),
        ("torch.optim.Adam([{'params': netG.parameters()}, {'params': netD.parameters(), 'lr': 1e-4}])",
         {"netG", "netD"}),
        ("torch.optim.Adam(filter(lambda p: p.requires_grad, netG.parameters()))", {"netG"}),
        ("torch.optim.Adam([p for n, p in netG.named_parameters() if 'bias' not in n])", {"netG"}),
        ("torch.optim.Adam(params)", None),  # a name the file does not define
        ("make_optimizer(netG)", None),  # not an optimizer construction the file shows
    ],
)
def test_an_optimizers_parameters_come_from_its_construction(construction, owners):
    source = (
        "import itertools\nimport torch\nimport torch.nn as nn\n\nnetG = nn.Linear(4, 8)\nnetD = nn.Module()\n"
        f"opt = {construction}\nopt.zero_grad()\nopt.step()\n"
    )
    model, steps = steps_of(source)
    found = steps.parameters(last_call(model, "step").func.value)
    assert found == (frozenset(owners) if owners is not None else None)


def test_a_module_stored_under_two_attributes_has_one_name():
    # G is stored as self.G and self.netG, and the optimizer is built from the argument: all three name one
    # module, so the generator's loss (through self.netG) reaches the optimizer's parameters.
    source = (
        "import torch\n\n\nclass Trainer:\n    def __init__(self, G, D):\n        self.G, self.D = G, D\n"
        "        self.netG = G\n        self.opt_g = torch.optim.Adam(G.parameters())\n\n"
        "    def step(self, z):\n        loss = self.D(self.netG(z)).mean()\n        self.opt_g.zero_grad()\n"
        "        loss.backward()\n        self.opt_g.step()\n"
    )
    model, steps = steps_of(source)
    optimizer = last_call(model, "step").func.value
    assert steps.parameters(optimizer) == frozenset({"self.G"})
    backward = model.statement(last_call(model, "backward"))
    assert steps.backward_reaches(backward, optimizer) == "must"


def test_a_loss_reaches_the_modules_it_ran_and_stops_at_cuts():
    source = GAN_HEADER + (
        "real = torch.randn(8, 8)\nz = torch.randn(8, 4)\nfake = netG(z)\n"
        "d_loss = bce(netD(real), torch.ones(8, 1)) + bce(netD(fake.detach()), torch.zeros(8, 1))\n"
        "g_loss = bce(netD(fake), torch.ones(8, 1))\n"
        "with torch.no_grad():\n    target = netG(z)\n"
        "t_loss = ((netD(real) - target) ** 2).mean()\nscalar = torch.tensor(g_loss.item())\n"
    )
    model, steps = steps_of(source)

    def reach(name: str):  # what the name's last assignment holds
        binding = model.module_scope.bindings[name][-1]
        return steps.reach(binding.value)

    assert reach("d_loss").may == {"bce", "netD"} and not reach("d_loss").unknown
    assert {"netG", "netD"} <= reach("g_loss").must
    assert "netG" not in reach("t_loss").may  # made under no_grad
    assert reach("scalar").may == frozenset() and not reach("scalar").unknown  # a re-wrap of .item()


def test_a_callable_passed_in_reaches_what_its_arguments_reach_whatever_it_is():
    source = (
        "import torch.nn as nn\n\nmodel = nn.Linear(4, 1)\n\n\ndef step(criterion, x, y):\n"
        "    out = model(x)\n    return criterion(out.detach(), y)\n"
    )
    model, steps = steps_of(source)
    returned = next(n for n in ast.walk(model.tree) if isinstance(n, ast.Return)).value
    reach = steps.reach(returned)
    assert "model" not in reach.may  # whatever criterion is, nothing reaches the model through out.detach()


GAN_LOOP = GAN_HEADER + (
    "for real, z in loader:\n"  # line 9
    "    netD.zero_grad()\n"
    "    fake = netG(z)\n"
    "    errD = bce(netD(real), ones) + bce(netD(fake.detach()), zeros)\n"
    "    errD.backward()\n"
    "    optD.step()\n"  # 14
    "    optG.zero_grad()\n"
    "    errG = bce(netD(fake), ones)\n"
    "    optG.step()\n"  # 17
    "    errG.backward()\n"
)


def test_walking_back_from_each_step_is_judged_per_optimizer():
    model, steps = steps_of(GAN_LOOP)
    d_step, g_step = statement_at(model, 14), statement_at(model, 17)
    assert steps.trace_back(d_step, d_step.value.func.value).kind == "backward"
    trace = steps.trace_back(g_step, g_step.value.func.value)
    assert (trace.kind, trace.statement.lineno) == ("cleared", 15)
    assert steps.next_backward(g_step, g_step.value.func.value).lineno == 18


def test_a_modules_zero_grad_clears_exactly_its_own_parameters():
    source = GAN_LOOP.replace("    optG.zero_grad()\n", "    netG.zero_grad()\n")
    model, steps = steps_of(source)
    g_step, d_step = statement_at(model, 17), statement_at(model, 14)
    assert steps.trace_back(g_step, g_step.value.func.value).kind == "cleared"
    assert steps.clears_some(statement_at(model, 15), d_step.value.func.value) is False
    assert steps.clears_some(statement_at(model, 15), g_step.value.func.value) is True


def test_events_are_in_execution_order_with_their_loops():
    model, steps = steps_of(GAN_LOOP)
    kinds = [(e.kind, e.statement.lineno) for e in steps.events(model.tree) if e.kind != "forward"]
    assert kinds == [("zero_grad", 10), ("backward", 13), ("step", 14), ("zero_grad", 15), ("step", 17),
                     ("backward", 18)]
    assert all(len(e.loops) == 1 for e in steps.events(model.tree))


def test_accumulation_under_modulo_is_marked():
    source = (
        "import torch\n\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\nfor i, (x, y) in enumerate(loader):\n"
        "    loss = crit(model(x), y)\n    loss.backward()\n    if (i + 1) % 4 == 0:\n        opt.step()\n"
        "        opt.zero_grad()\n"
    )
    model, steps = steps_of(source)
    step = next(e for e in steps.events(model.tree) if e.kind == "step")
    assert step.accumulating
    assert steps.trace_back(step.statement, step.target).kind == "backward"


@pytest.mark.parametrize(
    "body, mode",
    [
        ("model.eval()\nout = model(x)\n", "eval"),
        ("model.train()\nout = model(x)\n", "train"),
        ("model.train(False)\nout = model(x)\n", "eval"),
        ("if flag:\n    model.eval()\nout = model(x)\n", None),  # one branch only
        ("if flag:\n    model.eval()\nelse:\n    model.eval()\nout = model(x)\n", "eval"),
        ("model.eval()\nfor x in data:\n    out = model(x)\n", "eval"),
        ("model.eval()\nfor x in data:\n    out = model(x)\n    model.train()\n", None),  # trains from step 2
        ("out = model(x)\n", None),
    ],
)
def test_the_mode_at_a_call_site(body, mode):
    source = "import torch.nn as nn\n\nmodel = nn.Linear(4, 1)\n" + body
    model, steps = steps_of(source)
    call = next(c for c in model.nodes(ast.Call) if getattr(c.func, "id", None) == "model")
    assert steps.mode_at(call) == mode


# --- end to end: the installed CLI, then torch ----------------------------------------------------------------

TRAIN_GAN = """import torch
import torch.nn as nn

torch.manual_seed(0)
netG = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 8))
netD = nn.Sequential(nn.Linear(8, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1), nn.Sigmoid())
criterion = nn.BCELoss()
optD = torch.optim.Adam(netD.parameters(), lr=1e-3)
optG = torch.optim.Adam(netG.parameters(), lr=1e-3)
real = torch.randn(32, 8) + 2.0
noise = torch.randn(32, 4)
ones, zeros = torch.ones(32, 1), torch.zeros(32, 1)
start = [p.detach().clone() for p in netG.parameters()]
for step in range(4):
    netD.zero_grad()
    fake = netG(noise)
    errD = criterion(netD(real), ones) + criterion(netD(fake.detach()), zeros)
    errD.backward()
    optD.step()
    optG.zero_grad()
    errG = criterion(netD(fake), ones)
    optG.step()
    errG.backward()
print(sum((p.detach() - s).abs().sum().item() for p, s in zip(netG.parameters(), start)))
"""


def generator_moved(*paths) -> list[float]:
    """How far netG's parameters moved in each script, all run in one process (torch is imported once)."""
    runner = "import runpy, sys\nfor path in sys.argv[1:]:\n    runpy.run_path(path, run_name='__main__')\n"
    result = subprocess.run([sys.executable, "-c", runner, *map(str, paths)], capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    return [float(line) for line in result.stdout.decode().split()]


def test_the_dcgan_loop_is_reported_on_the_generators_step_and_fixed_so_the_generator_trains(tmp_path):
    pytest.importorskip("torch")
    original = tmp_path / "original.py"
    original.write_text(TRAIN_GAN)
    script = tmp_path / "gan.py"
    script.write_text(TRAIN_GAN)
    report = run(["--no-cache", "gan.py"], tmp_path).stdout.decode()
    assert "gan.py:22:5: GF401 [*] optG.step() with no gradients" in report
    assert "GF402" not in report  # optG.zero_grad() clears nothing that errD's backward() put on netG

    fixed = run(["--no-cache", "--fix", "gan.py"], tmp_path)
    assert fixed.stdout.decode().strip() == "Fixed 1 finding; all checks passed."
    assert "    errG.backward()\n    optG.step()\n" in script.read_text()
    before, after = generator_moved(original, script)
    assert before == 0.0, "the original never trains the generator"
    assert after > 0.0, "the fixed loop trains it"
    assert run(["--no-cache", "gan.py"], tmp_path).returncode == 0


def test_a_fix_that_leaves_an_ordering_wrong_says_so(tmp_path):
    # The generator's step shares its line with another statement: it cannot be moved alone, so after the
    # discriminator's step is fixed the model, checking the result again, still finds the generator's.
    script = tmp_path / "gan.py"
    script.write_text(TRAIN_GAN.replace("    errD.backward()\n    optD.step()\n", "    optD.step()\n    errD.backward()\n")
                      .replace("    optG.step()\n", "    optG.step(); step += 0\n"))
    fixed = run(["--no-cache", "--fix", "gan.py"], tmp_path)
    out = fixed.stdout.decode()
    assert fixed.returncode == 1
    assert "all checks passed" not in out.lower()
    assert "GF401 optG.step() with no gradients" in out
    assert out.strip().endswith("Found 2 findings (1 fixed, 1 remaining).")


def test_a_clear_every_iteration_breaks_accumulation_under_torch():
    # The claim GF402 makes on `zero_grad(); backward(); if (i + 1) % k == 0: step()`: each step applies the
    # last micro-batch's gradients alone.
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    xs, ys = torch.randn(4, 8, 4), torch.randn(4, 8, 1)
    seen = []
    optimizer.register_step_pre_hook(lambda *_: seen.append(model.weight.grad.clone()))
    for i in range(4):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(xs[i]), ys[i]).backward()
        if (i + 1) % 2 == 0:
            optimizer.step()
    for i, grad in zip((1, 3), seen):
        model.zero_grad()
        torch.nn.functional.mse_loss(model(xs[i]), ys[i]).backward()
        assert torch.equal(grad, model.weight.grad)
