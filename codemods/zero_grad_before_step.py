"""GF402: `zero_grad()` between backward() and step() of the same optimizer."""
from __future__ import annotations

import ast
import re
import weakref

from autofix.rule import Applicability, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import Kind, SemanticModel, TrainingSteps
from codemods._steps import (
    Evidence,
    Move,
    Removal,
    any_backward,
    backward_kind,
    block_of,
    blocks_around,
    build_move,
    build_removal,
    clips_or_unscales,
    independent,
    key,
    manual_update,
    own_nodes,
    plan_move,
    zero_grad,
)

_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
x = torch.randn(64, 8, generator=g).to(device)
y = x.sum(dim=1, keepdim=True)
for step in range(10):
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.zero_grad()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
"""

_ACCUMULATION_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(11)

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(32, 8, generator=g).to(device)
y = x.sum(dim=1, keepdim=True)
accumulate = 2
for step in range(12):
    # Half of the batch each micro-step; the optimizer steps every second one.
    half = x[(step % 2) * 16:(step % 2 + 1) * 16]
    loss = F.mse_loss(model(half), half.sum(dim=1, keepdim=True)) / accumulate
    loss.backward()
    if (step + 1) % accumulate == 0:
        optimizer.zero_grad()
        optimizer.step()
"""


class ZeroGradBeforeStep(Rule):
    """
    ## What it does
    Finds `optimizer.zero_grad()` (or `model.zero_grad()`) placed after the `backward()` that feeds an
    `optimizer.step()` and before that step, often with gradient clipping in between. Also reports (without
    a fix) a loop that clears the gradients right after `backward()` and never steps: `loss.backward();
    optimizer.zero_grad()`, or `optimizer.zero_grad(); loss.backward(); optimizer.zero_grad()` where the
    second `zero_grad()` was evidently meant to be `step()`.

    Judged per optimizer on the training-step model (`autofix.semantic.TrainingSteps`): the `backward()` must
    reach the stepped optimizer's parameters (on every path, where its parameters are known), and the clear
    must clear some of them (`netG.zero_grad()` clears exactly netG's). A step whose own `backward()` comes
    after it is GF401's finding, not this rule's. The backward may be a loop of micro-batch `backward()`
    calls, or precede the block (accumulation: `if (i + 1) % k == 0: opt.zero_grad(); opt.step()`).

    Also finds a loop body that clears an optimizer every iteration, runs `backward()`, and steps it only under
    `if ... % k ...:`: each step applies the last iteration's gradients alone, and the accumulation is lost
    (checked with torch: the step sees exactly the last micro-batch's gradient). The same holds for a function's
    body (a training-step function an engine calls) and a fragment's top level (a loop body posted without its
    loop): the step under `% k` is the evidence that the code runs once per iteration. And a clear under the
    very condition that guards the step (`if it % k == 0: opt.zero_grad()` ... backward() ...
    `if it % k == 0: opt.step()`, the counter not rebound between) runs on the step's own iteration, before its
    backward(): each step applies that one iteration's gradients. Conditions are compared as expressions, not
    evaluated: `i % k == 0` against `(i + 1) % k == 0` (clear at a window's start, step at its end) differs.

    What counts as an optimizer: what the semantic model knows is one (`torch.optim.Adam(...)`,
    `self.optimizer` assigned one in `__init__`, an `optimizer: Optimizer` annotation); where the model
    cannot tell, a receiver that the same function (or, for `self.x`, the same class) both clears with
    `X.zero_grad()` and steps with `X.step()` (or `scaler.step(X)`) around a `backward()`. A `zero_grad()`
    on another receiver counts when the block steps a single optimizer and the receiver is a module: known
    to the model, or called like one (`model(x)`) in the same function. A loop that never steps is reported
    only on an optimizer the model knows (a `model.zero_grad()` after `backward()` with no step is how memory
    probes and benchmarks are written), or on a second `zero_grad()` of the same non-module receiver in one
    iteration; and not when the loop calls anything named like a step or update, or the file registers hooks
    (an optimizer run from a post-accumulate-grad hook steps inside `backward()`).

    ## Why is this bad?
    The step sees zeroed (or `None`) gradients and does nothing: parameters never move, silently (autograd
    fact "backward(); zero_grad(); step() leaves parameters unchanged, silently"). Adam and friends still
    update their step counters, so the run looks normal. Without any step, the gradients are computed and
    thrown away: nothing trains (checked on torch 2.13).

    ## Example
    ```python
    loss.backward()
    optimizer.zero_grad()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    ```

    ## Use instead
    ```python
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    ```

    ## Runtime
    Silent: `step()` runs with zeroed or `None` gradients and no parameter changes.

    ## Fix safety
    Safe: `zero_grad()` moves to just before the `backward()` (or the loop of them), the latest point that is
    always correct for a single-loss step; where the backward precedes the block (accumulation under `% k`),
    it moves to just after the step. A clear every iteration that breaks accumulation moves to just after the
    guarded step, or is removed where a clear already follows that step. The rule checks that the statements it crosses do not write a name it reads.
    The fix repairs behaviour. In a GAN, `opt_g.zero_grad()` after the discriminator's `backward()`
    belongs to the generator's own `backward()` that follows, and is not reported. A loop that never steps
    gets no fix: whether `step()` is missing or the loop is not meant to train is the author's call.
    """

    code = "GF402"
    name = "zero-grad-before-step"
    message = "zero_grad() between backward() and step(): the step sees no gradients"
    runtime = "silent: step() runs with zeroed gradients; no parameter changes"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"zero_grad\(")

    examples = (
        Invalid(
            "for x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.zero_grad()\n"
            "    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    optimizer.step()\n",
            "for x, y in loader:\n    loss = criterion(model(x), y)\n    optimizer.zero_grad()\n    loss.backward()\n"
            "    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    optimizer.step()\n",
            "zero_grad between backward and step, with clipping",
        ),
        Invalid(
            "for x, y in loader:\n    with autocast():\n        loss = criterion(model(x), y)\n"
            "    scaler.scale(loss).backward()\n    scaler.unscale_(opt)\n    opt.zero_grad(set_to_none=True)\n"
            "    clip_grad_norm_(model.parameters(), 1.0)\n    scaler.step(opt)\n    scaler.update()\n",
            "for x, y in loader:\n    with autocast():\n        loss = criterion(model(x), y)\n"
            "    opt.zero_grad(set_to_none=True)\n    scaler.scale(loss).backward()\n    scaler.unscale_(opt)\n"
            "    clip_grad_norm_(model.parameters(), 1.0)\n    scaler.step(opt)\n    scaler.update()\n",
            "AMP",
        ),
        Invalid(
            "def training_step(self, batch, idx):\n    opt = self.optimizers()\n    loss = self.compute(batch)\n"
            "    self.manual_backward(loss)\n    opt.zero_grad()\n    opt.step()\n",
            "def training_step(self, batch, idx):\n    opt = self.optimizers()\n    loss = self.compute(batch)\n"
            "    opt.zero_grad()\n    self.manual_backward(loss)\n    opt.step()\n",
            "Lightning manual optimisation",
        ),
        Valid(
            "for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n"
            "    optimizer.step()\n",
            "the right order",
        ),
        Valid(
            "for x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n"
            "    optimizer.zero_grad()\n",
            "step(); zero_grad() at the end of the iteration",
        ),
        Valid(
            "for real, z in loader:\n    d_loss = bce(D(G(z).detach()), zeros)\n    opt_d.zero_grad()\n"
            "    d_loss.backward()\n    opt_d.step()\n    g_loss = bce(D(G(z)), ones)\n    opt_g.zero_grad()\n"
            "    g_loss.backward()\n    opt_g.step()\n",
            "a GAN with two optimizers",
        ),
        Invalid(
            "import torch\n\n\ndef train(model, loader, criterion, lr=0.1):\n"
            "    optimizer = torch.optim.SGD(model.parameters(), lr=lr)\n    for x, y in loader:\n"
            "        loss = criterion(model(x), y)\n        loss.backward()\n        model.zero_grad()\n"
            "        optimizer.step()\n",
            "import torch\n\n\ndef train(model, loader, criterion, lr=0.1):\n"
            "    optimizer = torch.optim.SGD(model.parameters(), lr=lr)\n    for x, y in loader:\n"
            "        loss = criterion(model(x), y)\n        model.zero_grad()\n        loss.backward()\n"
            "        optimizer.step()\n",
            "model.zero_grad() on the module the function calls, before the one optimizer's step",
        ),
        Invalid(
            "import torch\n\nopt = torch.optim.Adam(model.parameters())\nfor x, y in loader:\n"
            "    loss = criterion(model(x), y)\n    loss.backward()\n    opt.zero_grad()\n",
            None,
            "backward() then zero_grad() and no step() in the loop: reported, no fix",
        ),
        Invalid(
            "def train(model, loader, optimizer, criterion):\n    for x, y in loader:\n        optimizer.zero_grad()\n"
            "        loss = criterion(model(x), y)\n        loss.backward()\n        optimizer.zero_grad()\n",
            None,
            "a second zero_grad() where step() was meant: reported, no fix",
        ),
        Valid(
            "for real, z in loader:\n    opt_d.zero_grad()\n    bce(D(real), ones).backward()\n    opt_d.step()\n"
            "    g_loss = bce(D(G(z)), ones)\n    opt_g.zero_grad()\n    g_loss.backward()\n    D.zero_grad()\n"
            "    opt_g.step()\n",
            "a GAN clearing the discriminator's gradients from the generator's loss before the generator's step",
        ),
        Valid(
            "def peak_memory(model, x, sizes):\n    for size in sizes:\n        model(x[:size]).sum().backward()\n"
            "        model.zero_grad()\n",
            "a memory probe: backward() and zero_grad() on a module, no optimizer",
        ),
        Valid(
            "import torch\n\nopt = torch.optim.Adam(model.parameters())\nfor x, y in loader:\n"
            "    loss = criterion(model(x), y)\n    loss.backward()\n    trainer.optimizer_step(opt)\n    opt.zero_grad()\n",
            "the step happens in a helper the loop calls",
        ),
        Valid(
            "def fisher(model, loader, criterion, optimizer):\n    scores = [0.0 for _ in model.parameters()]\n"
            "    for x, y in loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n"
            "        for i, p in enumerate(model.parameters()):\n            scores[i] += p.grad.pow(2).sum().item()\n"
            "        optimizer.zero_grad()\n    return scores\n",
            "the gradients are read before the second zero_grad(): Fisher information, not training",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\nnetG = nn.Sequential(nn.Linear(4, 8), nn.Tanh())\n"
            "netD = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())\nbce = nn.BCELoss()\n"
            "optD = torch.optim.Adam(netD.parameters())\noptG = torch.optim.Adam(netG.parameters())\n"
            "for real, z in loader:\n    netD.zero_grad()\n    fake = netG(z)\n"
            "    errD = bce(netD(real), ones) + bce(netD(fake.detach()), zeros)\n    errD.backward()\n"
            "    optD.step()\n    optG.zero_grad()\n    errG = bce(netD(fake), ones)\n    optG.step()\n"
            "    errG.backward()\n",
            "the DCGAN loop of GF401: optG.zero_grad() after the discriminator's backward() clears nothing the generator's step uses (errD is cut from netG by detach())",
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\n\n\ndef fit(model, loader, accumulate=4):\n"
            "    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
            "    for i, (x, y) in enumerate(loader):\n"
            "        loss = F.cross_entropy(model(x), y) / accumulate\n        loss.backward()\n"
            "        if (i + 1) % accumulate == 0:\n            optimizer.zero_grad()\n"
            "            optimizer.step()\n",
            "import torch\nimport torch.nn.functional as F\n\n\ndef fit(model, loader, accumulate=4):\n"
            "    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
            "    for i, (x, y) in enumerate(loader):\n"
            "        loss = F.cross_entropy(model(x), y) / accumulate\n        loss.backward()\n"
            "        if (i + 1) % accumulate == 0:\n            optimizer.step()\n"
            "            optimizer.zero_grad()\n",
            'gradient accumulation: cleared under `% k` right before the step; the clear moves after the step',
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n"
            "policy = nn.Linear(6, 2)\nvalue = nn.Linear(6, 1)\n"
            "opt_policy = torch.optim.Adam(policy.parameters())\n"
            "opt_value = torch.optim.Adam(value.parameters())\nfor states, advantages, returns in batches:\n"
            "    policy_loss = -(F.log_softmax(policy(states), dim=-1).sum(-1) * advantages).mean()\n"
            "    value_loss = F.mse_loss(value(states), returns)\n    policy_loss.backward()\n"
            "    value_loss.backward()\n    opt_policy.zero_grad()\n    opt_policy.step()\n"
            "    opt_value.step()\n",
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n"
            "policy = nn.Linear(6, 2)\nvalue = nn.Linear(6, 1)\n"
            "opt_policy = torch.optim.Adam(policy.parameters())\n"
            "opt_value = torch.optim.Adam(value.parameters())\nfor states, advantages, returns in batches:\n"
            "    policy_loss = -(F.log_softmax(policy(states), dim=-1).sum(-1) * advantages).mean()\n"
            "    value_loss = F.mse_loss(value(states), returns)\n    opt_policy.zero_grad()\n"
            "    policy_loss.backward()\n    value_loss.backward()\n    opt_policy.step()\n"
            "    opt_value.step()\n",
            "two optimizers: the value loss's backward() reaches none of the policy's parameters, the policy loss's does",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n"
            "actor = nn.Linear(6, 2)\ncritic = nn.Linear(8, 1)\n"
            "actor_opt = torch.optim.Adam(actor.parameters())\n"
            "critic_opt = torch.optim.Adam(critic.parameters())\nfor state, action, target in batches:\n"
            "    actor_loss = -critic(torch.cat([state, actor(state)], 1)).mean()\n"
            "    actor_opt.zero_grad()\n    actor_loss.backward()\n    actor_opt.step()\n"
            "    critic_opt.zero_grad()\n"
            "    critic_loss = F.mse_loss(critic(torch.cat([state, action], 1)), target)\n"
            "    critic_loss.backward()\n    critic_opt.step()\n",
            "actor-critic: the actor's backward() fills the critic's gradients too, and critic_opt.zero_grad() clears them before the critic's own backward()",
        ),
        Invalid(
            "def train(model, loader, opt, criterion, accumulate=4):\n    for x, y in loader:\n"
            "        for part_x, part_y in zip(x.chunk(accumulate), y.chunk(accumulate)):\n"
            "            loss = criterion(model(part_x), part_y) / accumulate\n            loss.backward()\n"
            "        opt.zero_grad()\n        opt.step()\n",
            "def train(model, loader, opt, criterion, accumulate=4):\n    for x, y in loader:\n"
            "        opt.zero_grad()\n"
            "        for part_x, part_y in zip(x.chunk(accumulate), y.chunk(accumulate)):\n"
            "            loss = criterion(model(part_x), part_y) / accumulate\n            loss.backward()\n"
            "        opt.step()\n",
            'micro-batches backpropagated in an inner loop, then cleared before the step: the clear goes before the loop',
        ),
        Invalid(
            "import torch\n\n\ndef fit(model, loader, criterion, accumulate=4):\n"
            "    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
            "    for i, (x, y) in enumerate(loader):\n        optimizer.zero_grad()\n"
            "        loss = criterion(model(x), y) / accumulate\n        loss.backward()\n"
            "        if (i + 1) % accumulate == 0:\n            optimizer.step()\n",
            "import torch\n\n\ndef fit(model, loader, criterion, accumulate=4):\n"
            "    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
            "    for i, (x, y) in enumerate(loader):\n        loss = criterion(model(x), y) / accumulate\n"
            "        loss.backward()\n        if (i + 1) % accumulate == 0:\n            optimizer.step()\n"
            "            optimizer.zero_grad()\n",
            'cleared every iteration, stepped every k-th: accumulation broken; the clear moves after the step',
        ),
        Invalid(
            "def fit(model, loader, optimizer, criterion, accumulate=4):\n"
            "    for i, (x, y) in enumerate(loader):\n        optimizer.zero_grad()\n"
            "        loss = criterion(model(x), y) / accumulate\n        loss.backward()\n"
            "        if i % accumulate == 0:\n            optimizer.step()\n"
            "            optimizer.zero_grad()\n",
            "def fit(model, loader, optimizer, criterion, accumulate=4):\n"
            "    for i, (x, y) in enumerate(loader):\n        loss = criterion(model(x), y) / accumulate\n"
            "        loss.backward()\n        if i % accumulate == 0:\n            optimizer.step()\n"
            "            optimizer.zero_grad()\n",
            'cleared every iteration and after the guarded step: the first clear is removed',
        ),
        Valid(
            "import torch\n\n\ndef fit(model, loader, criterion, accumulate=4):\n"
            "    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
            "    for i, (x, y) in enumerate(loader):\n        if i % accumulate == 0:\n"
            "            optimizer.zero_grad()\n        loss = criterion(model(x), y) / accumulate\n"
            "        loss.backward()\n        if (i + 1) % accumulate == 0:\n            optimizer.step()\n",
            'cleared under `i % k == 0`, stepped under `(i + 1) % k == 0`: each step sees k micro-batches',
        ),
        Invalid(
            "sgd.zero_grad()\nbatch_loss.backward()\nif (n + 1) % every == 0:\n    sgd.step()\n",
            "batch_loss.backward()\nif (n + 1) % every == 0:\n    sgd.step()\n    sgd.zero_grad()\n",
            'a loop body posted without its loop: the step under `% k` says it runs once per iteration',
        ),
        Invalid(
            "def train_step(trainer, net, opt, batch, k=8):\n    if trainer.iteration % k == 0:\n"
            "        opt.zero_grad()\n    out = net(batch[0])\n    (out - batch[1]).pow(2).mean().backward()\n"
            "    if trainer.iteration % k == 0:\n        opt.step()\n",
            None,
            'cleared and stepped under the same `% k` condition, the clear before backward(): one batch per step',
        ),
        Valid(
            "def train_step(trainer, net, opt, batch, k=8):\n    out = net(batch[0])\n"
            "    (out - batch[1]).pow(2).mean().backward()\n    if trainer.iteration % k == 0:\n"
            "        opt.step()\n        opt.zero_grad()\n",
            'stepped and then cleared under the same `% k` condition: k batches per step',
        ),
        Valid(
            "def train_step(trainer, net, opt, batch, k=8):\n    if trainer.iteration % k == 0:\n"
            "        opt.zero_grad()\n    out = net(batch[0])\n    (out - batch[1]).pow(2).mean().backward()\n"
            "    if (trainer.iteration + 1) % k == 0:\n        opt.step()\n",
            'cleared on the first iteration of each window, stepped on its last: k batches per step',
        ),
    )

    scenarios = (
        Scenario("mlp-zero-grad-after-backward", _SCENARIO),
        Scenario("accumulation-cleared-before-the-step", _ACCUMULATION_SCENARIO),
    )

    def check(self, model: SemanticModel) -> None:
        evidence = Evidence.of(model)
        zeroing = [model.statement(call) for call in model.calls_to_method("zero_grad")]
        for block in blocks_around(model, [s for s in zeroing if s is not None]):
            self._check_block(model, evidence, block)

    def _check_block(self, model: SemanticModel, evidence: Evidence, block: list[ast.stmt]) -> None:
        kinds = [backward_kind(model, s) for s in block]
        if "higher-order" in kinds:
            return
        self._check_discarded(model, evidence, block, kinds)
        steps = TrainingSteps.of(model)
        self._check_accumulation(model, evidence, steps, block, kinds)
        guard = model.parent(block[0]) if block else None
        if isinstance(guard, ast.If) and block is guard.body:
            around = _block_holding(model, guard)
            if around is not None:
                self._check_same_guard(steps, evidence, around, guard, [backward_kind(model, s) for s in around])
        stepped = {i: evidence.optimizer_step(s) for i, s in enumerate(block)}
        one_optimizer = len({key(o) for o in stepped.values() if o is not None}) == 1
        for step_index, optimizer in stepped.items():
            if optimizer is None:
                continue
            if steps.next_backward(block[step_index], optimizer) is not None:
                continue  # its own backward() comes after the step: the step is misplaced (GF401), not the clear
            found = _cleared_after_its_backward(model, steps, block, step_index, optimizer, one_optimizer)
            if found is None:
                continue
            backward, zeroing = found
            if backward is not None:
                move = plan_move(model, block, zeroing, backward, after=False)
                advice = "clear them before backward()"
            else:  # the backward() is outside this block (accumulation under `% k`): clear after the step
                move = plan_move(model, block, zeroing, step_index, after=True)
                advice = "clear them after the step"
            step_line = block[step_index].lineno
            for index in zeroing:
                self.report(
                    block[index],
                    f"zero_grad() between backward() and the step at line {step_line}: the step sees no gradients; "
                    + advice,
                    fix=Applicability.SAFE if move else None,
                    data=move,
                )

    def _check_accumulation(self, model, evidence: Evidence, steps: TrainingSteps, block, kinds) -> None:
        """A loop body that clears an optimizer every iteration, runs backward(), and steps it only under
        `if ... % k ...:`: every step applies the last iteration's gradients alone (accumulation broken)."""
        owner = model.parent(block[0]) if block else None
        # A loop body, or the body of a function or of a fragment: a step guarded by `% k` is itself the
        # evidence that this code runs once per iteration (a training-step function an engine calls, a loop
        # body posted without its loop); whatever calls it, the clear before backward() destroys what the
        # skipped iterations accumulated.
        repeated = isinstance(owner, (ast.For, ast.AsyncFor, ast.While, ast.FunctionDef, ast.AsyncFunctionDef,
                                      ast.Module))
        if not repeated or block is not owner.body:
            return
        for index, statement in enumerate(block):
            if zero_grad(statement) is None:
                continue
            later = block[index + 1:]
            backward = next((i for i, k in enumerate(kinds[index + 1:], index + 1) if k == "plain"), None)
            if backward is None or any(evidence.optimizer_step(s) is not None for s in later):
                continue  # a step every iteration: ordinary training, judged above
            for guard in block[backward + 1:]:
                if not (isinstance(guard, ast.If) and not guard.orelse and _takes_modulo(guard.test)):
                    continue
                step = next((s for s in guard.body if evidence.optimizer_step(s) is not None), None)
                if step is None:
                    continue
                optimizer = evidence.optimizer_step(step)
                clears = steps.clears_some(statement, optimizer)
                reach = steps.backward_reaches(block[backward], optimizer)
                if not clears or reach is None or (reach == "may" and steps.parameters(optimizer) is not None):
                    continue
                already = any(zero_grad(s) is not None and steps.clears_some(s, optimizer)
                              for s in guard.body[guard.body.index(step) + 1:])
                move = _into_the_guard(model, block, index, guard, step, already)
                self.report(
                    statement,
                    f"zero_grad() every iteration, but the step at line {step.lineno} runs only every k-th: each "
                    "step applies the last iteration's gradients alone; "
                    + ("the clear after the step is enough" if already else "clear them after the step"),
                    fix=Applicability.SAFE if move else None,
                    data=move,
                )
                break

    def _check_same_guard(self, steps: TrainingSteps, evidence: Evidence, block, first: ast.If, kinds) -> None:
        """`if C: opt.zero_grad()`, backward(), `if C: opt.step()` with the same `% k` condition C, and nothing
        between that rebinds a name C reads: the clear runs on the very iterations the step runs, before their
        backward(), so it throws away what the k - 1 iterations in between accumulated, and every step applies
        one iteration's gradients. (Cleared under `i % k == 0` and stepped under `(i + 1) % k == 0` is right.)"""
        if first.orelse or not _takes_modulo(first.test):
            return
        index = next(i for i, s in enumerate(block) if s is first)
        clear = next((s for s in first.body if zero_grad(s) is not None), None)
        if clear is None:
            return
        backward = next((i for i, k in enumerate(kinds[index + 1:], index + 1) if k == "plain"), None)
        if backward is None:
            return
        condition = ast.dump(first.test)
        read = {n.id for n in ast.walk(first.test) if isinstance(n, ast.Name)}
        if _rebinds(block[index + 1:backward + 1], read):
            return
        for later in block[backward + 1:]:
            if not (isinstance(later, ast.If) and ast.dump(later.test) == condition):
                if _rebinds([later], read):
                    return  # the counter changes before any step under the same condition
                continue
            step = next((s for s in later.body if evidence.optimizer_step(s) is not None), None)
            if step is None:
                continue
            optimizer = evidence.optimizer_step(step)
            reach = steps.backward_reaches(block[backward], optimizer)
            if not steps.clears_some(clear, optimizer) or reach is None or (
                    reach == "may" and steps.parameters(optimizer) is not None):
                continue
            self.report(
                clear,
                f"zero_grad() under the same condition as the step at line {step.lineno}, before backward(): "
                "it clears what the iterations in between accumulated, and each step applies one iteration's "
                "gradients; clear them after the step",
            )
            return

    def _check_discarded(self, model: SemanticModel, evidence: Evidence, block: list[ast.stmt], kinds) -> None:
        """`loss.backward(); optimizer.zero_grad()` in a loop that never steps: the gradients are thrown away."""
        if not block or not model.enclosing_loops(block[0]) or _registers_hooks(model):
            return
        for index, statement in enumerate(block):
            receiver = zero_grad(statement)
            if receiver is None:
                continue
            backward = index - 1
            while backward >= 0 and clips_or_unscales(block[backward]):
                backward -= 1
            if backward < 0 or kinds[backward] != "plain":
                continue
            earlier = any(key(zero_grad(s)) == key(receiver) for s in block[:backward] if zero_grad(s) is not None)
            if earlier:
                evident = model.value(receiver).kind is not Kind.MODULE and not evidence.called(receiver)
            else:
                evident = model.value(receiver).kind is Kind.OPTIMIZER or evidence.scheduled(receiver)
            if not evident or _may_step(model.enclosing_loops(statement)[-1]):
                continue
            self.report(
                statement,
                "a second zero_grad() right after backward() in a loop that never steps: step() was meant; "
                "nothing trains"
                if earlier
                else "zero_grad() right after backward() in a loop that never steps: the gradients are thrown "
                "away and nothing trains; step the optimizer before clearing",
            )

    def fix(self, finding, tree) -> Fix | None:
        if isinstance(finding.data, Removal):
            return build_removal(finding.data, tree, Effect.REPAIRING)
        return build_move(finding.data, tree, Effect.REPAIRING) if finding.data else None


def _cleared_after_its_backward(model, steps: TrainingSteps, block, step_index: int, optimizer, one_optimizer: bool):
    """(the backward's index in `block`, or None when it precedes the block; the zero_grad()s) when, walking back
    from the step in execution order, zero_grad()s in the step's block clear gradients of this optimizer after
    the nearest backward() that reaches its parameters; else None. Judged per optimizer: a backward() whose
    loss provably reaches none of its parameters (the discriminator's, for the generator's step) is not its
    backward. Where the optimizer's parameters are not known, the nearest backward() counts only when the
    block steps one optimizer."""
    owners = steps.parameters(optimizer)
    if owners is None and not one_optimizer:
        return None
    zeroing: list[int] = []
    current, index, own_block = block, step_index, True
    while True:
        for i in range(index - 1, -1, -1):
            statement = current[i]
            if zero_grad(statement) is not None:
                clears = steps.clears_some(statement, optimizer)
                if clears is None and owners is None:
                    clears = _module_of_the_step(model, statement)
                if clears and not own_block:
                    return None  # cleared in an outer block too: no single move repairs it
                if clears:
                    zeroing.append(i)
                continue
            verdict = _backward_verdict(model, steps, statement, optimizer, owners)
            if verdict == "skip":
                continue
            if verdict == "ours" and zeroing:
                return (i if own_block else None, sorted(zeroing))
            return None
        # The start of the block: go on before the `if`/`with` that holds it, within the iteration.
        parent = model.parent(current[0]) if current else None
        if not isinstance(parent, (ast.If, ast.With, ast.AsyncWith)):
            return None
        outer = block_of(model, parent)
        if outer is None:
            return None
        current, index, own_block = outer, next(i for i, s in enumerate(outer) if s is parent), False


def _block_holding(model, statement: ast.stmt) -> list[ast.stmt] | None:
    """The statement list `statement` sits in (its parent's body, orelse, finalbody or handler body)."""
    parent = model.parent(statement)
    for field in ("body", "orelse", "finalbody"):
        statements = getattr(parent, field, None)
        if isinstance(statements, list) and any(s is statement for s in statements):
            return statements
    return None


def _rebinds(statements, names: set[str]) -> bool:
    """Whether any of `statements` assigns (or augments) one of `names`."""
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in names:
                return True
    return False


def _takes_modulo(test: ast.AST) -> bool:
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mod) for n in ast.walk(test))


def _into_the_guard(model, block, index: int, guard: ast.If, step: ast.stmt, already: bool):
    """The fix for a clear that breaks accumulation: remove it where the guarded step is already followed by a
    clear, else move it to just after the step; None where a statement it crosses writes what it reads."""
    crossed = block[index + 1:] + guard.body[: guard.body.index(step) + 1]
    if not independent(model, [block[index]], crossed) or not _alone(block, index):
        return None
    if already:
        return Removal(model.range(block[index]))
    return Move((model.range(block[index]),), model.range(step), after=True)


def _alone(block, index: int) -> bool:
    statement = block[index]
    neighbours = block[index - 1 : index] + block[index + 1 : index + 2]
    return all(n.end_lineno < statement.lineno or n.lineno > statement.end_lineno for n in neighbours)


def _backward_verdict(model, steps: TrainingSteps, statement, optimizer, owners) -> str:
    """"ours": a backward() that reaches the optimizer's parameters (on every path; any backward() where they are
    not known); "skip": no backward(), or one that provably reaches none of them; "stop": anything else."""
    if steps.calls_backward_helper(statement):
        return "stop"
    if isinstance(statement, (ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith)) \
            and any_backward(model, [statement]):
        # A loop (or `with`) of backward() calls before the clear: whether it ran or not, the step after the clear
        # sees none of their gradients. Its own backward() calls must be this optimizer's, and it must not step
        # or clear the optimizer itself.
        inner = [s for s in own_nodes(statement) if isinstance(s, ast.stmt) and s is not statement]
        if any(Evidence.of(model).optimizer_step(s) is not None or zero_grad(s) is not None for s in inner):
            return "stop"
        verdicts = {_backward_verdict(model, steps, s, optimizer, owners) for s in inner
                    if backward_kind(model, s) is not None}
        return "ours" if verdicts == {"ours"} else "stop"
    reach = steps.backward_reaches(statement, optimizer)
    if reach is None:
        if backward_kind(model, statement) == "plain" or not any_backward(model, [statement]):
            return "skip"
        return "stop"
    if reach == "must" or (reach == "may" and owners is None):
        return "ours"
    return "stop"


def _module_of_the_step(model: SemanticModel, statement: ast.stmt) -> bool:
    """With the optimizer's parameters unknown and one optimizer stepped: `X.zero_grad()` on a module (known to
    the model, or called like one, `model(x)`, in the same function) clears the step's gradients."""
    receiver = zero_grad(statement)
    evidence = Evidence.of(model)
    kind = model.value(receiver).kind
    if kind is Kind.MODULE:
        return True
    return kind is Kind.UNKNOWN and evidence.called(receiver) and not evidence.is_optimizer(receiver, False)


def _may_step(loop: ast.AST) -> bool:
    """The loop calls something that is, or may be, a step: `X.step(...)`, `optimizer_step(...)`,
    `trainer.update()`, or updates parameters by hand."""
    for node in own_nodes(loop):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if "step" in name.lower() or "update" in name.lower():
                return True
        elif isinstance(node, ast.stmt) and manual_update(node):
            return True
    return False


_HOOKS_REGISTERED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _registers_hooks(model: SemanticModel) -> bool:
    """Hooks can run an optimizer inside backward() (`register_post_accumulate_grad_hook`). Asked once per file
    (each block asks: a walk over every call per block would be quadratic)."""
    found = _HOOKS_REGISTERED.get(model)
    if found is None:
        found = _HOOKS_REGISTERED[model] = any(
            call.func.attr.startswith("register_") and "hook" in call.func.attr
            for call in model.calls_to_method(*_HOOK_REGISTRATIONS))
    return found


_HOOK_REGISTRATIONS = ("register_hook", "register_post_accumulate_grad_hook", "register_full_backward_hook",
                       "register_backward_hook", "register_comm_hook", "register_multi_grad_hook")
