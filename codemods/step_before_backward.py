"""GF401: an optimizer step (or hand-written update) before the backward() of the same iteration."""
from __future__ import annotations

import ast
import re

from autofix.rule import Applicability, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import SemanticModel, TrainingSteps, dotted
from codemods._steps import (
    BACKWARD_METHODS,
    Evidence,
    any_backward,
    backward_kind,
    binds,
    block_of,
    blocks_around,
    build_move,
    clips_or_unscales,
    manual_update,
    mentions,
    own_nodes,
    parameter_writes,
    plan_move,
)

_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)


class ResidualBlock(nn.Module):
    def __init__(self, dim=16):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 32)
        self.fc2 = nn.Linear(32, dim)

    def forward(self, x):
        return x + self.fc2(F.gelu(self.fc1(self.norm(x))))


model = nn.Sequential(nn.Linear(8, 16), ResidualBlock(), nn.Linear(16, 1)).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(64, 8, generator=g).to(device)
y = x.sum(dim=1, keepdim=True)
for step in range(10):
    loss = F.mse_loss(model(x), y)
    optimizer.step()
    loss.backward()
    optimizer.zero_grad(set_to_none=False)
"""

_GAN_SCENARIO = """\
import os

import torch
import torch.nn as nn

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(3)

netG = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 8)).to(device)
netD = nn.Sequential(nn.Linear(8, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1), nn.Sigmoid()).to(device)
criterion = nn.BCELoss()
optD = torch.optim.Adam(netD.parameters(), lr=1e-3)
optG = torch.optim.Adam(netG.parameters(), lr=1e-3)
real = (torch.randn(64, 8, generator=g) * 0.5 + 2.0).to(device)
noise = torch.randn(64, 4, generator=g).to(device)
ones = torch.ones(64, 1, device=device)
zeros = torch.zeros(64, 1, device=device)
for step in range(10):
    # The discriminator: real against generated, the generator cut off with detach().
    netD.zero_grad()
    fake = netG(noise)
    errD = criterion(netD(real), ones) + criterion(netD(fake.detach()), zeros)
    errD.backward()
    optD.step()
    # The generator: its step runs before its backward(), on gradients it has just cleared.
    optG.zero_grad()
    errG = criterion(netD(fake), ones)
    optG.step()
    errG.backward()
"""

_ACTOR_CRITIC_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(5)

actor = nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 2), nn.Tanh()).to(device)
critic = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1)).to(device)
actor_opt = torch.optim.Adam(actor.parameters(), lr=1e-3)
critic_opt = torch.optim.Adam(critic.parameters(), lr=1e-3)
state = torch.randn(128, 6, generator=g).to(device)
action = torch.randn(128, 2, generator=g).to(device)
reward = (state[:, :2] * action).sum(dim=1, keepdim=True)
for step in range(10):
    # The actor follows the critic's estimate; its backward() also reaches the critic.
    actor_loss = -critic(torch.cat([state, actor(state)], dim=1)).mean()
    actor_opt.zero_grad()
    actor_loss.backward()
    actor_opt.step()
    # The critic: cleared, then stepped before its own backward(): it never learns the reward.
    critic_opt.zero_grad()
    critic_loss = F.mse_loss(critic(torch.cat([state, action], dim=1)), reward)
    critic_opt.step()
    critic_loss.backward()
"""

_TWO_LOSSES_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(7)

encoder = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)).to(device)
head = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)).to(device)
opt_encoder = torch.optim.SGD(encoder.parameters(), lr=0.05)
opt_head = torch.optim.SGD(head.parameters(), lr=0.05)
x = torch.randn(64, 8, generator=g).to(device)
target = x[:, :4] * 2.0
y = x.sum(dim=1, keepdim=True)
for step in range(10):
    opt_encoder.zero_grad()
    opt_head.zero_grad()
    reconstruction = F.mse_loss(encoder(x), target)
    regression = F.mse_loss(head(x), y)
    reconstruction.backward()
    opt_encoder.step()
    opt_head.step()
    regression.backward()
"""


class StepBeforeBackward(Rule):
    """
    ## What it does
    Finds an optimizer step placed before the `backward()` of the same block: `optimizer.step()`,
    `scaler.step(optimizer)`, a hand-written update such as `with torch.no_grad(): p -= lr * p.grad`, and a
    parameter written in place under `torch.no_grad()` after the loss was computed and before its
    `backward()` (`model.weight.copy_(model.weight + delta)`, `p.add_(noise)`).

    What counts as an optimizer: what the semantic model knows is one (`torch.optim.Adam(...)`,
    `self.optimizer` assigned one in `__init__`, an `optimizer: Optimizer` annotation); where the model
    cannot tell, a receiver that the same function (or, for `self.x`, the same class) clears with
    `X.zero_grad()` or hands to an `lr_scheduler` constructor. `X.zero_grad()` and `X.step()` around a
    `backward()` is the shape of an optimizer; an argument-free `step()` alone is not (schedulers and
    profilers have one too). A hand-written update is an in-place write that reads some `.grad`. A
    parameter is what the model knows is one (`for p in model.parameters()`, `fc.weight` of a known layer),
    and its owner must have taken part in computing the loss with autograd on.

    ## Why is this bad?
    - Between the forward pass and `backward()`, an update that writes to parameters autograd saved makes
      `backward()` raise "one of the variables needed for gradient computation has been modified by an
      inplace operation" in any model deeper than one linear layer; with a single `nn.Linear` it silently
      computes gradients for the parameters as they were before the update (autograd fact "a parameter
      update between forward and backward raises in a deeper model"). A `.data` update raises nothing
      and the loss stays flat. When the gradients were cleared to `None` just before (the default of
      `zero_grad()`), `optimizer.step()` skips every parameter: no error, and nothing ever trains.
    - Before the forward pass, `step()` applies the previous iteration's gradients: training lags one
      step, the first step applies none, and if the gradients are cleared after `backward()` nothing
      ever trains.

    ## Example
    ```python
    loss = criterion(model(x), y)
    optimizer.step()
    loss.backward()
    ```

    ## Use instead
    ```python
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    ```

    ## Runtime
    Raises "modified by an inplace operation" at `backward()` (deeper models, when the step writes), or
    silently trains nothing or lags one step.

    ## Fix safety
    Safe: the update moves to just after `backward()` and after any gradient clipping or unscaling
    that follows it, with its comments. The rule checks that the moved statements neither read nor write a
    name the statements they cross write (an in-place method writes its receiver), nor write a name those
    read. Otherwise it reports without a fix. The fix repairs behaviour: a write that raised now runs after
    `backward()`, and one that did not raise already got the gradients of the values before the write.
    Gradient accumulation (`if (i + 1) % k == 0: optimizer.step()` after `backward()`), EMA and
    weight clipping after `step()`, weight clipping before the forward pass, a target network updated under
    `no_grad`, and second-order code (`create_graph=True`/`retain_graph=True`) are not reported.
    """

    code = "GF401"
    name = "step-before-backward"
    message = "Parameter update before backward(): move it after backward()"
    runtime = 'raises "modified by an inplace operation" at backward() (deeper models), or silently trains nothing or lags'
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"backward\(")

    examples = (
        Invalid(
            "for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n"
            "    optimizer.step()  # update\n    loss.backward()\n",
            "for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n"
            "    loss.backward()\n    optimizer.step()  # update\n",
            "step between the forward pass and backward(); its comment moves with it",
        ),
        Invalid(
            "for x, y in loader:\n    optimizer.step()\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n"
            "    loss.backward()\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n",
            "for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n"
            "    loss.backward()\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    optimizer.step()\n",
            "step at the top of the iteration: it goes after backward() and the clipping",
        ),
        Invalid(
            "import torch\n\nfor x, y in loader:\n    loss = ((model(x) - y) ** 2).mean()\n    with torch.no_grad():\n"
            "        for p in model.parameters():\n            p -= 0.01 * p.grad\n    loss.backward()\n",
            "import torch\n\nfor x, y in loader:\n    loss = ((model(x) - y) ** 2).mean()\n    loss.backward()\n"
            "    with torch.no_grad():\n        for p in model.parameters():\n            p -= 0.01 * p.grad\n",
            "a hand-written SGD update before backward()",
        ),
        Invalid(
            "import torch\n\nfor x, y in loader:\n    opt.step()\n    opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "    loss = criterion(model(x), y)\n    loss.backward()\n",
            None,
            "the crossed statements rebind the optimizer: reported without a fix",
        ),
        Valid(
            "for i, (x, y) in enumerate(loader):\n    loss = criterion(model(x), y) / accum\n    loss.backward()\n"
            "    if (i + 1) % accum == 0:\n        optimizer.step()\n        optimizer.zero_grad()\n",
            "gradient accumulation",
        ),
        Valid(
            "for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n"
            "    optimizer.step()\n    ema.update(model)\n    for p in critic.parameters():\n        p.data.clamp_(-0.01, 0.01)\n",
            "EMA and WGAN weight clipping after step()",
        ),
        Valid(
            "for x, y in loader:\n    d_loss = bce(D(G(z).detach()), zeros)\n    opt_d.zero_grad()\n    d_loss.backward()\n"
            "    opt_d.step()\n    g_loss = bce(D(G(z)), ones)\n    opt_g.zero_grad()\n    g_loss.backward()\n    opt_g.step()\n",
            "a GAN: the D step before the G backward belongs to the D backward",
        ),
        Valid(
            "grads = torch.autograd.grad(loss, params, create_graph=True)\nopt.step()\nloss2.backward(create_graph=True)\n",
            "second-order code",
        ),
        Valid("architect.step(x_train, y_train, x_val, y_val, lr, optimizer)\nloss = crit(model(x), y)\nloss.backward()\n",
              "DARTS-style architecture step: not an optimizer"),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass Trainer:\n    def __init__(self, model):\n"
            "        self.model = model\n        self.optimizer = torch.optim.AdamW(model.parameters())\n\n"
            "    def train_step(self, x, y):\n        loss = nn.functional.mse_loss(self.model(x), y)\n"
            "        self.optimizer.step()\n        loss.backward()\n",
            "import torch\nimport torch.nn as nn\n\n\nclass Trainer:\n    def __init__(self, model):\n"
            "        self.model = model\n        self.optimizer = torch.optim.AdamW(model.parameters())\n\n"
            "    def train_step(self, x, y):\n        loss = nn.functional.mse_loss(self.model(x), y)\n"
            "        loss.backward()\n        self.optimizer.step()\n",
            "an optimizer the model knows from __init__, with no zero_grad() in sight",
        ),
        Invalid(
            "from torch.optim import Optimizer\n\n\ndef step(model, batch, optimizer: Optimizer):\n"
            "    loss = model(batch).mean()\n    optimizer.step()\n    loss.backward()\n",
            "from torch.optim import Optimizer\n\n\ndef step(model, batch, optimizer: Optimizer):\n"
            "    loss = model(batch).mean()\n    loss.backward()\n    optimizer.step()\n",
            "an argument annotated Optimizer",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\nmodel = nn.Linear(8, 1)\nfor x, y in loader:\n"
            "    loss = ((model(x) - y) ** 2).mean()\n    with torch.no_grad():\n"
            "        model.weight.copy_(model.weight + delta)\n    loss.backward()\n",
            "import torch\nimport torch.nn as nn\n\nmodel = nn.Linear(8, 1)\nfor x, y in loader:\n"
            "    loss = ((model(x) - y) ** 2).mean()\n    loss.backward()\n    with torch.no_grad():\n"
            "        model.weight.copy_(model.weight + delta)\n",
            "a parameter written under no_grad between the loss and its backward()",
        ),
        Invalid(
            "import torch\n\n\ndef perturb_step(model, x, y, criterion, sigma):\n    loss = criterion(model(x), y)\n"
            "    with torch.no_grad():\n        for p in model.parameters():\n"
            "            p.add_(sigma * torch.randn_like(p))\n    loss.backward()\n    return loss\n",
            "import torch\n\n\ndef perturb_step(model, x, y, criterion, sigma):\n    loss = criterion(model(x), y)\n"
            "    loss.backward()\n    with torch.no_grad():\n        for p in model.parameters():\n"
            "            p.add_(sigma * torch.randn_like(p))\n    return loss\n",
            "noise added to every parameter after the loss, before backward()",
        ),
        Valid(
            "for x, y in loader:\n    prof.step()\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n"
            "    loss.backward()\n    optimizer.step()\n",
            "an argument-free step() on something the file never clears: a profiler, not an optimizer",
        ),
        Valid(
            "import torch\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 10)\nfor x, y in loader:\n    scheduler.step()\n"
            "    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n    optimizer.zero_grad()\n",
            "a scheduler's step before backward() updates no parameter (GF403's business)",
        ),
        Valid(
            "import torch\n\n\ndef critic_step(critic, opt, real, fake, clip=0.01):\n    with torch.no_grad():\n"
            "        for p in critic.parameters():\n            p.clamp_(-clip, clip)\n"
            "    loss = critic(fake).mean() - critic(real).mean()\n    opt.zero_grad()\n    loss.backward()\n    opt.step()\n",
            "WGAN weight clipping before the forward pass: not between the loss and its backward()",
        ),
        Valid(
            "import torch\n\n\ndef dqn_step(q_net, target_net, opt, s, a, r, s2, tau=0.01):\n"
            "    with torch.no_grad():\n        target = r + target_net(s2).max(1)[0]\n"
            "    loss = ((q_net(s).gather(1, a) - target) ** 2).mean()\n    with torch.no_grad():\n"
            "        for p in target_net.parameters():\n            p.mul_(1 - tau)\n"
            "    opt.zero_grad()\n    loss.backward()\n    opt.step()\n",
            "a target network, used only under no_grad, updated between the loss and backward()",
        ),
        Valid(
            "import torch\n\n\ndef noisy(model, x, sigma):\n    with torch.no_grad():\n        for p in model.parameters():\n"
            "            p.add_(sigma * torch.randn_like(p))\n    loss = model(x).sum()\n    loss.backward()\n",
            "parameters perturbed before the forward pass",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\nnetG = nn.Sequential(nn.Linear(4, 8), nn.Tanh())\n"
            "netD = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())\nbce = nn.BCELoss()\n"
            "optD = torch.optim.Adam(netD.parameters())\noptG = torch.optim.Adam(netG.parameters())\n"
            "for real, z in loader:\n    netD.zero_grad()\n    fake = netG(z)\n"
            "    errD = bce(netD(real), ones) + bce(netD(fake.detach()), zeros)\n    errD.backward()\n"
            "    optD.step()\n    netG.zero_grad()\n    errG = bce(netD(fake), ones)\n    optG.step()\n"
            "    errG.backward()\n",
            "import torch\nimport torch.nn as nn\n\nnetG = nn.Sequential(nn.Linear(4, 8), nn.Tanh())\n"
            "netD = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())\nbce = nn.BCELoss()\n"
            "optD = torch.optim.Adam(netD.parameters())\noptG = torch.optim.Adam(netG.parameters())\n"
            "for real, z in loader:\n    netD.zero_grad()\n    fake = netG(z)\n"
            "    errD = bce(netD(real), ones) + bce(netD(fake.detach()), zeros)\n    errD.backward()\n"
            "    optD.step()\n    netG.zero_grad()\n    errG = bce(netD(fake), ones)\n    errG.backward()\n"
            "    optG.step()\n",
            "a DCGAN loop: netG.zero_grad() clears exactly netG's parameters, and the generator's step comes before its backward()",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n"
            "encoder = nn.Linear(8, 4)\nhead = nn.Linear(8, 1)\n"
            "opt_encoder = torch.optim.SGD(encoder.parameters(), lr=0.1)\n"
            "opt_head = torch.optim.SGD(head.parameters(), lr=0.1)\nfor x, target, y in loader:\n"
            "    opt_encoder.zero_grad()\n    opt_head.zero_grad()\n"
            "    reconstruction = F.mse_loss(encoder(x), target)\n    regression = F.mse_loss(head(x), y)\n"
            "    reconstruction.backward()\n    opt_encoder.step()\n    opt_head.step()\n"
            "    regression.backward()\n",
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n"
            "encoder = nn.Linear(8, 4)\nhead = nn.Linear(8, 1)\n"
            "opt_encoder = torch.optim.SGD(encoder.parameters(), lr=0.1)\n"
            "opt_head = torch.optim.SGD(head.parameters(), lr=0.1)\nfor x, target, y in loader:\n"
            "    opt_encoder.zero_grad()\n    opt_head.zero_grad()\n"
            "    reconstruction = F.mse_loss(encoder(x), target)\n    regression = F.mse_loss(head(x), y)\n"
            "    reconstruction.backward()\n    opt_encoder.step()\n    regression.backward()\n"
            "    opt_head.step()\n",
            "two losses, two optimizers: the encoder's backward() reaches none of the head's parameters",
        ),
        Valid(
            "import torch\nimport torch.nn.functional as F\n\n\nclass TD3:\n"
            "    def __init__(self, actor, critic, actor_target, critic_target):\n"
            "        self.actor, self.critic = actor, critic\n"
            "        self.actor_target, self.critic_target = actor_target, critic_target\n"
            "        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=3e-4)\n"
            "        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=3e-4)\n"
            "        self.total_it = 0\n\n"
            "    def train(self, state, action, reward, next_state, policy_freq=2, tau=0.005):\n"
            "        self.total_it += 1\n        with torch.no_grad():\n"
            "            target_q = reward + 0.99 * self.critic_target(next_state, self.actor_target(next_state))\n"
            "        critic_loss = F.mse_loss(self.critic(state, action), target_q)\n"
            "        self.critic_optimizer.zero_grad()\n        critic_loss.backward()\n"
            "        self.critic_optimizer.step()\n        if self.total_it % policy_freq == 0:\n"
            "            actor_loss = -self.critic(state, self.actor(state)).mean()\n"
            "            self.actor_optimizer.zero_grad()\n            actor_loss.backward()\n"
            "            self.actor_optimizer.step()\n            with torch.no_grad():\n"
            "                for p, t in zip(self.critic.parameters(), self.critic_target.parameters()):\n"
            "                    t.mul_(1 - tau).add_(tau * p)\n",
            "TD3: the critic's step, then a delayed actor update under `% policy_freq`, each after its own backward()",
        ),
        Valid(
            "def gan_step(G, D, opt_g, opt_d, bce, real, z, ones, zeros):\n    opt_d.zero_grad()\n"
            "    opt_g.zero_grad()\n    d_loss = bce(D(real), ones) + bce(D(G(z)), zeros)\n"
            "    d_loss.backward()\n    opt_d.step()\n    opt_g.step()\n",
            "the discriminator's loss is not detached from G: its backward() may fill G's gradients, so opt_g's step is not provably empty",
        ),
        Valid(
            "import torch\nimport torch.nn.functional as F\n\n\ndef fit(model, loader, accumulate=4):\n"
            "    optimizer = torch.optim.AdamW(filter(lambda p: p.requires_grad, model.parameters()), lr=1e-4)\n"
            "    for i, (x, y) in enumerate(loader):\n"
            "        loss = F.cross_entropy(model(x), y) / accumulate\n        loss.backward()\n"
            "        if (i + 1) % accumulate != 0:\n            continue\n"
            "        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n        optimizer.step()\n"
            "        optimizer.zero_grad()\n",
            'gradient accumulation with an early `continue`, over a filtered parameter list',
        ),
        Valid(
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n"
            "model = nn.Linear(8, 4)\nprobe = nn.Linear(4, 1)\n"
            "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "probe_optimizer = torch.optim.SGD(probe.parameters(), lr=0.1)\nfor x, y, label in loader:\n"
            "    optimizer.zero_grad()\n    losses = []\n    for head in range(4):\n"
            "        losses.append(F.mse_loss(model(x)[:, head], y[:, head]))\n"
            "    torch.stack(losses).sum().backward()\n    optimizer.step()\n"
            "    probe_optimizer.zero_grad()\n    F.mse_loss(probe(model(x)), label).backward()\n"
            "    probe_optimizer.step()\n",
            'per-head losses appended to a list, then one backward() through their sum; a probe trained after the step',
        ),
    )

    scenarios = (
        Scenario("residual-mlp-step-between-forward-and-backward", _SCENARIO),
        Scenario("gan-generator-step-before-its-backward", _GAN_SCENARIO),
        Scenario("actor-critic-critic-step-before-its-backward", _ACTOR_CRITIC_SCENARIO),
        Scenario("two-losses-second-step-before-its-backward", _TWO_LOSSES_SCENARIO),
    )

    def check(self, model: SemanticModel) -> None:
        backward_statements = [model.statement(call) for call in model.calls_to_method(*BACKWARD_METHODS)]
        evidence = Evidence.of(model)
        for block in blocks_around(model, [s for s in backward_statements if s is not None]):
            self._check_block(model, block)
        steps = TrainingSteps.of(model)
        for call in model.calls_to_method("step"):
            statement = model.statement(call)
            optimizer = evidence.optimizer_step(statement) if statement is not None else None
            if optimizer is not None:
                self._check_step(model, steps, statement, optimizer)

    def _check_step(self, model: SemanticModel, steps: TrainingSteps, statement: ast.stmt, optimizer) -> None:
        """Judged per optimizer: a step with no backward() that may reach its parameters since its last
        zero_grad() (or since the iteration began), whose own backward() comes later in the iteration."""
        if _second_order(model, statement):
            return
        trace = steps.trace_back(statement, optimizer)
        if trace.kind not in ("cleared", "start"):
            return
        later = steps.next_backward(statement, optimizer)
        block = block_of(model, statement)
        if later is None or block is None:
            return  # its backward() is somewhere the file does not show here
        anchor = next(i for i, s in enumerate(block) if s is later)
        index = next(i for i, s in enumerate(block) if s is statement)
        move = None
        if backward_kind(model, later) == "plain":
            while anchor + 1 < len(block) and clips_or_unscales(block[anchor + 1]):
                anchor += 1
            move = plan_move(model, block, [index], anchor, after=True)
        name = dotted(optimizer) or "the optimizer"
        if trace.kind == "cleared":
            message = (
                f"{name}.step() with no gradients: no backward() reaching its parameters ran since they were "
                f"cleared at line {trace.statement.lineno}, and its backward() is at line {later.lineno}; move the "
                "step after it"
            )
        elif any(isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign)) for s in block[:index]):
            message = (
                f"Parameter update between the forward pass and backward() at line {later.lineno}: backward() "
                "raises, or the update is lost; move it after backward()"
            )
        else:
            message = (
                f"Parameter update before backward() at line {later.lineno} applies the previous step's "
                "gradients; move it after backward()"
            )
        self.report(statement, message, fix=Applicability.SAFE if move else None, data=move)

    def _check_block(self, model: SemanticModel, block: list[ast.stmt]) -> None:
        """Hand-written updates, and parameters written under no_grad, before the block's first backward()."""
        kinds = [backward_kind(model, s) for s in block]
        if "higher-order" in kinds:
            return
        first = next((i for i, kind in enumerate(kinds) if kind), None)
        if first is None or any_backward(model, block[:first]):
            return
        updates = [i for i in range(first) if manual_update(block[i])]
        writes = [i for i in _parameter_writes_after_the_loss(model, block, first) if i not in updates]
        updates = sorted(updates + writes)
        if not updates:
            return
        after = first
        while after + 1 < len(block) and clips_or_unscales(block[after + 1]):
            after += 1
        move = plan_move(model, block, updates, after, after=True)
        backward_line = block[first].lineno
        for index in updates:
            forward_first = any(isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign)) for s in block[:index])
            message = (
                f"Parameter written in place between the loss and its backward() at line {backward_line}: "
                "backward() raises, or uses the values from before the write; move it after backward()"
                if index in writes
                else f"Parameter update between the forward pass and backward() at line {backward_line}: backward() "
                "raises, or the update is lost; move it after backward()"
                if forward_first
                else f"Parameter update before backward() at line {backward_line} applies the previous step's "
                "gradients; move it after backward()"
            )
            self.report(block[index], message, fix=Applicability.SAFE if move else None, data=move)

    def fix(self, finding, tree) -> Fix | None:
        return build_move(finding.data, tree, Effect.REPAIRING) if finding.data else None


def _parameter_writes_after_the_loss(model: SemanticModel, block: list[ast.stmt], first: int) -> list[int]:
    """Indices of `with torch.no_grad():` statements that write a parameter in place after the statement that
    computes the loss of `block[first]` (the backward) and before it, where the parameter's owner took part
    in the computation with autograd on (a target network used under no_grad is not ours)."""
    loss_names = {n.id for n in own_nodes(block[first]) if isinstance(n, ast.Name)}
    loss_index = next((j for j in range(first - 1, -1, -1) if binds(block[j], loss_names)), None)
    if loss_index is None:
        return []
    found = []
    for index in range(loss_index + 1, first):
        roots = parameter_writes(model, block[index])
        if roots and any(mentions(s, roots) for s in block[: loss_index + 1] if not _grad_off(model, s)):
            found.append(index)
    return found


def _second_order(model: SemanticModel, statement: ast.stmt) -> bool:
    """The function (or script) keeps graphs for higher-order gradients: the model of one step per backward()
    does not describe it."""
    scope = model.function(statement) or model.tree
    return any(backward_kind(model, s) == "higher-order" for s in own_nodes(scope) if isinstance(s, ast.stmt))


def _grad_off(model: SemanticModel, statement: ast.stmt) -> bool:
    return isinstance(statement, (ast.With, ast.AsyncWith)) and any(
        model.disables_grad(item.context_expr) for item in statement.items
    )
