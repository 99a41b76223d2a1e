"""GF201: the tensor given to backward() was cut from the graph by `.detach()`, `.data`, `.item()`, `argmax`..."""
from __future__ import annotations

import re

from autofix.lazy import libcst as cst
from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from codemods._lossflow import REMOVABLE, TRIGGER_TEXT, LossFlowRule, Problem, describe


_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)


class TinyTransformer(nn.Module):
    def __init__(self, vocab=20, dim=16, classes=3):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.block = nn.TransformerEncoderLayer(dim, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True)
        self.head = nn.Linear(dim, classes)

    def forward(self, tokens):
        return self.head(self.block(self.embed(tokens)).mean(dim=1))


model = TinyTransformer().to(device)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
tokens = torch.randint(0, 20, (32, 6), generator=g).to(device)
labels = torch.randint(0, 3, (32,), generator=g).to(device)
for step in range(10):
    optimizer.zero_grad()
    logits = model(tokens)
    loss = F.cross_entropy(logits.detach(), labels)
    loss.backward()
    optimizer.step()
"""

class DetachedLoss(LossFlowRule, Rule):
    """
    ## What it does
    Follows every `backward()` (also `torch.autograd.backward/grad`, `accelerator.backward(loss)`,
    `self.manual_backward(loss)`, `scaler.scale(loss).backward()`) back through the assignments, arithmetic,
    calls and containers of its function, and reports a loss whose every path to a trainable tensor is cut
    by `.detach()`, `.data`, or a non-differentiable step (`.item()`, `.numpy()`, `argmax`, integer casts,
    comparisons, `generate()`). Names come from the semantic model (imports, `self.criterion = nn.MSELoss()`,
    annotations); a loss's target (`criterion(output, y)`) is ground truth, so a loss is judged by its input.
    Only functions that call backward themselves are analysed; calls into the file's own functions (a loss
    helper, a method, a module's `forward`) are followed, so a cut inside a helper reaches the backward() that
    uses its result (reported without a fix: other callers may mean the cut). A callable the file does not
    show, given a value cut from a model's output and a target and whose result is backpropagated
    (`criterion(out.detach(), y)` with `criterion` a parameter), is a loss function by its use: whatever it
    is, backward() cannot reach the model through the cut. A callable shown to be a model (called on plain
    data, `.parameters()`) keeps its parameters. A loss term detached while the rest of the sum still trains
    is reported on its own; a straight-through `x - x.detach()` is not.

    ## Why is this bad?
    A loss with no path to the parameters cannot train them. `backward()` raises
    "element 0 of tensors does not require grad and does not have a grad_fn" (autograd fact
    "backward() on a loss built from output.detach() raises"); when someone then patches
    `requires_grad = True` onto it, the error goes away and nothing trains (GF203).

    Deliberate detaches keep a path and are never reported: a GAN discriminator step
    `bce(D(fake.detach()), zeros)` (D's parameters), an RL target `r + gamma * target_net(s2).detach()`
    next to `q_net(s)`, a distillation teacher, truncated BPTT (`hidden = hidden.detach()`), and
    `loss.item()` / `loss.detach()` for logging.

    ## Example
    ```python
    output = model(x)
    loss = criterion(output.detach(), y)
    loss.backward()
    ```

    ## Use instead
    ```python
    output = model(x)
    loss = criterion(output, y)
    loss.backward()
    ```

    ## Runtime
    Raises at `backward()`: "element 0 of tensors does not require grad and does not have a grad_fn".

    ## Fix safety
    For `.detach()` / `.data`, the fix removes the cut. It is safe where the detached tensor came from
    differentiable computation in the same function (a model call, arithmetic on tensors), and it repairs
    behaviour: the crash becomes training. Where the detached value is a bare parameter or global, or a
    `requires_grad` patch sits downstream (which would then raise on a non-leaf), the rule reports without a
    fix. Non-differentiable steps have no automatic fix: the loss must be computed from tensors.
    """

    code = "GF201"
    name = "detached-loss"
    message = "The loss given to backward() is cut from the graph"
    runtime = 'raises at backward(): "element 0 of tensors does not require grad and does not have a grad_fn"'
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(TRIGGER_TEXT)

    examples = (
        Invalid(
            "import torch.nn as nn\n\n\ndef step(model, criterion, x, y):\n    output = model(x)\n"
            "    loss = criterion(output.detach(), y)\n    loss.backward()\n\n\nstep(net, nn.MSELoss(), x, y)\n",
            "import torch.nn as nn\n\n\ndef step(model, criterion, x, y):\n    output = model(x)\n"
            "    loss = criterion(output, y)\n    loss.backward()\n\n\nstep(net, nn.MSELoss(), x, y)\n",
            "the canonical shape: the call site says `criterion` is a loss module",
        ),
        Invalid(
            "score = (x @ w + b).detach()\nscore.backward()\n",
            "score = (x @ w + b)\nscore.backward()\n",
            "the receiver itself is detached: backward() always raises",
        ),
        Invalid(
            "import torch.nn.functional as F\n\nfor x, y in loader:\n    out = net(x).data\n    probs = F.softmax(out, -1)\n"
            "    loss = F.nll_loss(probs.log(), y)\n    loss.backward()\n",
            "import torch.nn.functional as F\n\nfor x, y in loader:\n    out = net(x)\n    probs = F.softmax(out, -1)\n"
            "    loss = F.nll_loss(probs.log(), y)\n    loss.backward()\n",
            "cut two assignments upstream of backward(), through torch.nn.functional",
        ),
        Invalid(
            "import torch.nn as nn\n\nloss_fn = nn.CrossEntropyLoss()\nfor x, y in loader:\n    with autocast():\n"
            "        loss = loss_fn(model(x).detach(), y)\n    scaler.scale(loss).backward()\n",
            "import torch.nn as nn\n\nloss_fn = nn.CrossEntropyLoss()\nfor x, y in loader:\n    with autocast():\n"
            "        loss = loss_fn(model(x), y)\n    scaler.scale(loss).backward()\n",
            "AMP: scaler.scale(loss).backward()",
        ),
        Invalid(
            "import torch.nn as nn\n\ncriterion = nn.MSELoss()\nlosses = []\nfor x, y in loader:\n"
            "    losses.append(criterion(model(x).detach(), y))\nsum(losses).backward()\n",
            "import torch.nn as nn\n\ncriterion = nn.MSELoss()\nlosses = []\nfor x, y in loader:\n"
            "    losses.append(criterion(model(x), y))\nsum(losses).backward()\n",
            "a loss list summed for backward()",
        ),
        Invalid(
            "import torch.nn.functional as F\n\nfor x, y in loader:\n    pred = model(x).argmax(-1).float()\n"
            "    loss = F.mse_loss(pred, y)\n    loss.backward()\n",
            None,
            "argmax is not differentiable: reported, no fix",
        ),
        Valid(
            "def d_step(G, D, bce, real, z, zeros, ones):\n    fake = G(z)\n"
            "    d_loss = bce(D(fake.detach()), zeros) + bce(D(real), ones)\n    d_loss.backward()\n",
            "GAN discriminator step: D's parameters still connect",
        ),
        Valid(
            "import torch.nn.functional as F\n\ndef td(q_net, target_net, s, a, r, s2, gamma):\n"
            "    target = r + gamma * target_net(s2).max(1)[0].detach()\n"
            "    loss = F.smooth_l1_loss(q_net(s).gather(1, a), target)\n    loss.backward()\n",
            "RL bootstrapped target",
        ),
        Valid(
            "import torch\nimport torch.nn.functional as F\n\ndef distill(student, teacher, x):\n"
            "    with torch.no_grad():\n        t = teacher(x)\n"
            "    loss = F.kl_div(F.log_softmax(student(x), -1), F.softmax(t, -1))\n    loss.backward()\n",
            "distillation teacher under no_grad",
        ),
        Valid(
            "def tbptt(rnn, head, criterion, chunks, h):\n    for x, y in chunks:\n        out, h = rnn(x, h)\n"
            "        loss = criterion(head(out), y)\n        loss.backward()\n        h = h.detach()\n",
            "truncated BPTT",
        ),
        Valid(
            "def step(model, criterion, x, y, log):\n    loss = criterion(model(x), y)\n    loss.backward()\n"
            "    log(loss.item(), loss.detach())\n    loss.detach()\n",
            "logging and a discarded detach",
        ),
        Valid(
            "def loss_fn(pred, target):\n    loss = ((pred - target.detach()) ** 2).mean()\n    loss.backward()\n",
            "a parameter may carry the graph; the detached target is data",
        ),
        Valid(
            "import torch.nn.functional as F\n\ndef distill_loss(student_logits, teacher, x):\n"
            "    target = teacher(x).detach()\n    loss = F.kl_div(student_logits, target)\n    loss.backward()\n",
            "the student's logits arrive as a parameter that carries the graph",
        ),
        Valid(
            "for x, y in val_loader:\n    loss = criterion(model(x).detach(), y)\n    total += loss.item()\n",
            "validation: no backward()",
        ),
        Invalid(
            "from accelerate import Accelerator\n\n\ndef train(accelerator: Accelerator, model, loader):\n"
            "    for batch in loader:\n        out = model(batch)\n        loss = out.detach().mean()\n"
            "        accelerator.backward(loss)\n",
            "from accelerate import Accelerator\n\n\ndef train(accelerator: Accelerator, model, loader):\n"
            "    for batch in loader:\n        out = model(batch)\n        loss = out.mean()\n"
            "        accelerator.backward(loss)\n",
            "accelerate's Accelerator.backward(loss), known through its import: the argument is the loss",
        ),
        Invalid(
            "import torch.nn as nn\n\nmse = nn.MSELoss()\n\ndef fit(net, x, y):\n    loss = mse(net(x).detach(), y)\n"
            "    loss.backward()\n",
            "import torch.nn as nn\n\nmse = nn.MSELoss()\n\ndef fit(net, x, y):\n    loss = mse(net(x), y)\n"
            "    loss.backward()\n",
            "a loss module the semantic model knows, whatever its name; y is its target",
        ),
        Valid(
            "def fit(net, head, x):\n    feats = net(x).detach()\n    loss = head(feats).pow(2).mean()\n"
            "    loss.backward()\n",
            "linear probing: a frozen backbone's features feed a head that trains",
        ),
        Invalid(
            "def step(model, criterion, x, y):\n    output = model(x)\n    loss = criterion(output.detach(), y)\n"
            "    loss.backward()\n",
            "def step(model, criterion, x, y):\n    output = model(x)\n    loss = criterion(output, y)\n"
            "    loss.backward()\n",
            "`criterion` is a parameter no call site explains; whatever it is, backward() cannot reach the model "
            "through `output.detach()`: given a model's output and a target, and backpropagated, it is a loss function",
        ),
        Valid(
            "import numpy as np\nimport torch\nimport torch.nn as nn\n\n\nclass Policy(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(3, 2)\n"
            "        self.log_alpha = torch.tensor(np.log(0.01))\n        self.log_alpha.requires_grad = True\n\n"
            "    def alpha_step(self, s, opt):\n        entropy = -self.fc(s).sum()\n"
            "        loss = -(self.log_alpha.exp() * (entropy + 1.0).detach()).mean()\n        loss.backward()\n"
            "        opt.step()\n",
            "SAC's temperature loss: `log_alpha` was made a leaf that requires grad, so the loss still trains it",
        ),
        Invalid(
            "import torch.nn.functional as F\n"
            "\n"
            "\n"
            "def compute_loss(pred, target):\n"
            "    return F.mse_loss(pred.detach(), target)\n"
            "\n"
            "\n"
            "def train(model, loader):\n"
            "    for x, y in loader:\n"
            "        loss = compute_loss(model(x), y)\n"
            "        loss.backward()\n",
            None,
            "a loss helper detaches the prediction it is given: the cut is followed from the helper's return to backward() in the loop (no fix: other callers may mean it)",
        ),
        Invalid(
            "import torch.nn.functional as F\n"
            "\n"
            "\n"
            "def step(model, x, y):\n"
            "    out = model(x)\n"
            "    smooth = F.l1_loss(out[:, 1:], out[:, :-1])\n"
            "    loss = F.mse_loss(out, y) + 0.1 * smooth.detach()\n"
            "    loss.backward()\n",
            "import torch.nn.functional as F\n"
            "\n"
            "\n"
            "def step(model, x, y):\n"
            "    out = model(x)\n"
            "    smooth = F.l1_loss(out[:, 1:], out[:, :-1])\n"
            "    loss = F.mse_loss(out, y) + 0.1 * smooth\n"
            "    loss.backward()\n",
            'one term of a sum is a detached loss while the total still trains the model: that term trains nothing',
        ),
        Invalid(
            "for x, y in loader:\n"
            "    loss = F.cross_entropy(net(x).detach(), y)\n"
            "    loss.backward()\n",
            "for x, y in loader:\n"
            "    loss = F.cross_entropy(net(x), y)\n"
            "    loss.backward()\n",
            'a fragment without its imports: an unbound `F` is torch.nn.functional',
        ),
        Valid(
            "def d_step(G, D, bce, real, z, labels, zeros, ones):\n"
            "    fake = G(z, labels)\n"
            "    d_loss = bce(D(fake.detach(), labels), zeros) + bce(D(real, labels), ones)\n"
            "    d_loss.backward()\n",
            "a conditional GAN's discriminator step: `D` is called on real data too, so it is a model, and its parameters connect",
        ),
        Valid(
            "def critic_step(G, D, real, z, labels):\n"
            "    fake = G(z, labels)\n"
            "    d_loss = D(fake.detach(), labels).mean() - D(real, labels).mean()\n"
            "    d_loss.backward()\n",
            'a conditional WGAN critic: a callable given a detached output and labels, but also called on real data',
        ),
        Valid(
            "import torch\n"
            "\n"
            "\n"
            "def probe(backbone, head, x, y):\n"
            "    opt = torch.optim.SGD(head.parameters(), lr=0.1)\n"
            "    feats = backbone(x)\n"
            "    loss = head(feats.detach(), y)\n"
            "    loss.backward()\n"
            "    opt.step()\n",
            'a two-argument head on frozen features, shown to be a module by its use (its parameters are optimised)',
        ),
        Valid(
            "import torch.nn.functional as F\n"
            "\n"
            "\n"
            "def step(model, x, y):\n"
            "    soft = model(x).softmax(-1)\n"
            "    hard = (soft == soft.max(-1, keepdim=True)[0]).float()\n"
            "    out = hard - soft.detach() + soft\n"
            "    loss = F.mse_loss(out, y)\n"
            "    loss.backward()\n",
            "a straight-through estimator: the detached term's tensor also appears uncut in the sum",
        ),
        Valid(
            "def td(q, target_net, s, a, r, s2):\n"
            "    err = q(s).gather(1, a) - (r + 0.9 * target_net(s2).max(1)[0].detach())\n"
            "    loss = err.pow(2).mean()\n"
            "    loss.backward()\n",
            'a TD error: the detached term is a bootstrapped target, not a loss',
        ),
        Valid(
            "import torch.nn.functional as F\n"
            "\n"
            "\n"
            "def distill(student_out, teacher_out):\n"
            "    return F.kl_div(student_out.log_softmax(-1), teacher_out.detach().softmax(-1))\n"
            "\n"
            "\n"
            "def train(student, teacher, loader):\n"
            "    for x, _ in loader:\n"
            "        loss = distill(student(x), teacher(x))\n"
            "        loss.backward()\n",
            'a helper that detaches a target on purpose: the prediction still connects',
        ),
    )

    scenarios = (Scenario("tiny-transformer-detached-logits", _SCENARIO),)

    def problem(self, problem: Problem) -> None:
        cut = problem.cut
        if cut.kind in ("rewrap", "no_grad") or problem.returned:
            return  # GF202, GF204; a function that returns a cut value without backward() may mean it (GF202/GF203)
        if cut.elsewhere is not None:
            self.report(cut.node, f"{describe(cut)} in {cut.elsewhere} cuts {problem.where} from the graph; "
                                  "remove it there")
            return
        if cut.kind not in REMOVABLE:
            self.report(
                cut.node,
                f"{describe(cut)} is not differentiable: {problem.where} has no path to any parameter",
            )
            return
        fix = Applicability.SAFE if cut.computed_here and not problem.patches else None
        self.report(cut.node, f"{describe(cut)} cuts {problem.where} from the graph", fix, data=cut.kind)

    def fix(self, finding, tree) -> Fix | None:
        # `X.detach()` becomes `X`; `X.data` becomes `X` (parentheses around X stay).
        if finding.data == "detach":
            node = tree.node_at(finding.range, cst.Call)
            inner = node.func.value if node is not None and isinstance(node.func, cst.Attribute) else None
        else:
            node = tree.node_at(finding.range, cst.Attribute)
            inner = node.value if node is not None else None
        if inner is None:
            return None
        return Fix((Edit(node, inner),), Applicability.SAFE, Effect.REPAIRING)
