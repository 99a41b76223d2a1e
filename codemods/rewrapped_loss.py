"""GF202: the loss was re-wrapped into a new leaf (`torch.tensor(loss.item(), requires_grad=True)` and kin)."""
from __future__ import annotations

import ast
import re

from autofix.lazy import libcst as cst
from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from codemods._lossflow import CONNECTED, CUT, PATCH_TEXT, TRIGGER_TEXT, LossFlowRule, Problem
from codemods._torch import receiver


_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)

model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1)).to(device)
criterion = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(64, 4, generator=g).to(device)
y = x.sum(dim=1, keepdim=True)
for step in range(10):
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss = torch.tensor(loss.item(), requires_grad=True)
    loss.backward()
    optimizer.step()
"""

_FORWARD_SCENARIO = """\
import os

import torch
import torch.nn as nn

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
        self.criterion = nn.MSELoss()

    def forward(self, x, y):
        loss = self.criterion(self.net(x), y)
        return torch.tensor(loss.item(), requires_grad=True, device=x.device)


model = Regressor().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(64, 4, generator=g).to(device)
y = x.sum(dim=1, keepdim=True)
for step in range(10):
    optimizer.zero_grad()
    loss = model(x, y)
    loss.backward()
    optimizer.step()
"""


_HELPERS_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)


class MultiTarget(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 16), nn.Tanh())
        self.heads = nn.ModuleList([nn.Linear(16, 1) for _ in range(2)])

    def forward(self, x):
        h = self.body(x)
        prediction = [head(h) for head in self.heads]
        prediction = [p.clone().detach().requires_grad_(True) for p in prediction]
        return self.pack(prediction)

    def pack(self, prediction):
        return {"prediction": self.join(prediction)}

    def join(self, prediction):
        return torch.cat(prediction, dim=1)


model = MultiTarget().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(64, 4, generator=g).to(device)
y = torch.stack([x.sum(dim=1), x[:, 0] - x[:, 1]], dim=1)
for step in range(10):
    optimizer.zero_grad()
    loss = F.mse_loss(model(x)["prediction"], y)
    loss.backward()
    optimizer.step()
"""


class RewrappedLoss(LossFlowRule, Rule):
    """
    ## What it does
    Finds a loss copied into a new leaf tensor before `backward()`: `torch.tensor(loss.item(), requires_grad=True)`,
    `torch.tensor(loss, requires_grad=True)`, `Variable(loss.data, requires_grad=True)`,
    `loss.detach().requires_grad_()`, and a list of losses copied with `torch.Tensor([...])` (or
    `torch.FloatTensor([...])`). (`torch.as_tensor(loss)` and `torch.Tensor(loss)` of one tensor keep the graph,
    and are left alone.)

    Calls into the file's own functions are followed (a helper, a method, a module's `forward`, two deep and
    more), so a re-wrap inside a `forward` whose output reaches backward() in the training loop through lists,
    dicts and helpers is found, and so is a forward hook that returns a new leaf (it replaces the layer's
    output). A term of a sum re-wrapped while the rest still trains (`loss = ce + perceptual`, the perceptual
    loss returned as `torch.Tensor([...])`) is reported on its own: that term trains nothing.

    Also in a function with no `backward()` of its own, whose caller trains on what it returns: a `forward`,
    a Lightning `training_step`, or any function returning a loss (computed by `F.*` losses, an `nn.*Loss`
    module or a `criterion`), when the returned value is such a re-wrap with `requires_grad=True` of a value
    that carries a graph: `return torch.tensor(loss, requires_grad=True)`, `Variable(output, requires_grad=True)`,
    `torch.tensor(model_output_as_numpy, requires_grad=True)`. There only evidence counts as a graph (a
    module's output, a loss), so a leaf made from loaded data is left alone, and so is a new leaf whose `.grad`
    the function reads or that it gives to an optimizer (input gradients, adversarial examples, latents).

    ## Why is this bad?
    The copy is a fresh leaf with no history: `backward()` runs without error, computes the gradient of the
    copy with respect to itself, and every parameter's `.grad` stays `None`. Nothing trains, silently
    (autograd fact "torch.tensor(loss.item(), requires_grad=True) trains nothing, silently"; checked on torch 2.13
    for each form above, `Variable(...)` and the NumPy round trip included). The usual origin is an earlier
    "element 0 of tensors does not require grad" error that the re-wrap made go away.

    ## Example
    ```python
    loss = criterion(model(x), y)
    loss = torch.tensor(loss.item(), requires_grad=True)
    loss.backward()
    ```

    ## Use instead
    ```python
    loss = criterion(model(x), y)
    loss.backward()
    ```

    ## Runtime
    Silent: `backward()` succeeds and no parameter receives a gradient.

    ## Fix safety
    Where the re-wrapped tensor still has its graph in the same function (a loss computed from a model
    call), the fix uses that tensor directly (a `loss = loss` left behind is removed; a `device=`/`dtype=` of
    the re-wrap becomes `.to(...)`). This is safe and repairs behaviour: the model starts to train. A loss
    helper that re-wraps a loss of its own arguments gets an unsafe fix: only the caller shows whether those
    arguments carry a graph, and if none does, the caller's `backward()` then raises instead of training
    nothing. Where the value was produced by non-differentiable code (`.numpy()`, Python arithmetic on
    `.item()`s, `argmax`, `generate()`), there is no fix: removing the wrapper would turn a silent bug into a
    crash. The loss has to be computed from tensors.
    """

    code = "GF202"
    name = "rewrapped-loss"
    message = "The loss was re-wrapped into a new leaf tensor: backward() trains nothing"
    runtime = "silent: backward() succeeds and every parameter's .grad stays None"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(f"{TRIGGER_TEXT}|{PATCH_TEXT}")

    examples = (
        Invalid(
            "import torch\n\ndef step(model, criterion, x, y):\n    loss = criterion(model(x), y)\n"
            "    loss = torch.tensor(loss.item(), requires_grad=True)\n    loss.backward()\n",
            "import torch\n\ndef step(model, criterion, x, y):\n    loss = criterion(model(x), y)\n    loss.backward()\n",
            "the re-wrap goes; the `loss = loss` it would leave is removed",
        ),
        Invalid(
            "import torch as T\n\nout = net(x)\nloss = F_loss(out, y)\nleaf = T.tensor(loss, requires_grad=True)\nleaf.backward()\n",
            "import torch as T\n\nout = net(x)\nloss = F_loss(out, y)\nleaf = loss\nleaf.backward()\n",
            "aliased torch; a differently named copy",
        ),
        Invalid(
            "from torch.autograd import Variable\n\nloss = criterion(model(x), y)\n"
            "loss = Variable(loss.data, requires_grad=True)\nloss.backward()\n",
            "from torch.autograd import Variable\n\nloss = criterion(model(x), y)\nloss.backward()\n",
            "the 0.3-era Variable",
        ),
        Invalid(
            "loss = criterion(model(x), y).detach().requires_grad_()\nloss.backward()\n",
            "loss = criterion(model(x), y)\nloss.backward()\n",
            ".detach().requires_grad_()",
        ),
        Invalid(
            "import torch\n\nl1 = criterion(model(x), y)\ntotal = l1.item() + 0.1 * reg.item()\n"
            "loss = torch.tensor(total, requires_grad=True)\nloss.backward()\n",
            None,
            "built from Python floats: reported without a fix (removing the wrapper would crash)",
        ),
        Valid("import torch\n\nw = torch.tensor([1.0, 2.0], requires_grad=True)\n(w ** 2).sum().backward()\n",
              "a fresh leaf from data is the thing being optimised"),
        Valid("import torch\n\nimg = torch.tensor(pixels, requires_grad=True)\nloss = model(img).sum()\nloss.backward()\n",
              "input optimisation: the model still connects"),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass Regressor(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.fc = nn.Linear(4, 1)\n        self.criterion = nn.MSELoss()\n\n"
            "    def forward(self, x, y):\n        loss = self.criterion(self.fc(x), y)\n"
            "        return torch.tensor(loss, requires_grad=True)\n",
            "import torch\nimport torch.nn as nn\n\n\nclass Regressor(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.fc = nn.Linear(4, 1)\n        self.criterion = nn.MSELoss()\n\n"
            "    def forward(self, x, y):\n        loss = self.criterion(self.fc(x), y)\n        return loss\n",
            "a forward that returns its loss re-wrapped: the caller's backward() trains nothing",
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\n\ndef compute_loss(pred, target):\n"
            "    loss = F.mse_loss(pred, target)\n    return torch.tensor(loss.item(), requires_grad=True, device=pred.device)\n",
            None,
            "a loss helper: unsafe, since only the caller shows whether pred carries a graph; the device move stays",
            unsafe_after="import torch\nimport torch.nn.functional as F\n\ndef compute_loss(pred, target):\n"
            "    loss = F.mse_loss(pred, target)\n    return loss.to(pred.device)\n",
        ),
        Invalid(
            "import torch.nn as nn\nfrom torch.autograd import Variable\n\n\nclass Net(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n        self.body = nn.Linear(4, 4)\n\n"
            "    def forward(self, x):\n        output = self.body(x)\n        return Variable(output, requires_grad=True)\n",
            "import torch.nn as nn\nfrom torch.autograd import Variable\n\n\nclass Net(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n        self.body = nn.Linear(4, 4)\n\n"
            "    def forward(self, x):\n        output = self.body(x)\n        return output\n",
            "Variable(output, requires_grad=True) on a forward's output",
        ),
        Invalid(
            "import lightning as L\nimport torch\nimport torch.nn.functional as F\n\n\nclass Model(L.LightningModule):\n"
            "    def training_step(self, batch, batch_idx):\n        x, y = batch\n"
            "        loss = F.cross_entropy(self(x), y)\n        loss = torch.tensor(loss.item(), requires_grad=True)\n"
            "        return loss\n",
            "import lightning as L\nimport torch\nimport torch.nn.functional as F\n\n\nclass Model(L.LightningModule):\n"
            "    def training_step(self, batch, batch_idx):\n        x, y = batch\n"
            "        loss = F.cross_entropy(self(x), y)\n        return loss\n",
            "a Lightning training_step returns the loss re-wrapped from .item()",
        ),
        Invalid(
            "import torch.nn as nn\nimport torch.nn.functional as F\nfrom torch.autograd import Variable\n\n\n"
            "class Classifier(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.head = nn.Linear(8, 3)\n\n    def loss(self, x, y):\n"
            "        value = F.cross_entropy(self.head(x), y)\n        return Variable(value.data, requires_grad=True)\n",
            "import torch.nn as nn\nimport torch.nn.functional as F\nfrom torch.autograd import Variable\n\n\n"
            "class Classifier(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.head = nn.Linear(8, 3)\n\n    def loss(self, x, y):\n"
            "        value = F.cross_entropy(self.head(x), y)\n        return value\n",
            "a loss method returns Variable(loss.data, requires_grad=True)",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass Scorer(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.body = nn.Linear(4, 1)\n\n    def forward(self, x):\n"
            "        scores = self.body(x).detach().cpu().numpy()\n        return torch.tensor(scores, requires_grad=True)\n",
            None,
            "requires_grad=True on a forward's output that came back from NumPy: reported, no fix",
        ),
        Valid(
            "import torch\n\ndef load(path):\n    return torch.tensor(read_image(path), requires_grad=True)\n",
            "a leaf made from whatever a loader returns: no evidence of a graph",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass Inverter(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.encoder = nn.Linear(4, 4)\n\n    def init_latent(self, img):\n"
            "        return torch.tensor(self.encoder(img).detach(), requires_grad=True)\n",
            "an initial latent to optimise: neither a forward's output nor a loss",
        ),
        Valid(
            "def saliency(z0):\n    z = z0.detach().requires_grad_()\n    loss = (z ** 2).sum()\n    loss.backward()\n"
            "    return z.grad\n",
            "the new leaf's gradient is the point: the function reads z.grad",
        ),
        Valid(
            "import torch\n\ndef step(model, criterion, x, y):\n    loss = torch.as_tensor(criterion(model(x), y))\n"
            "    loss.backward()\n",
            "torch.as_tensor returns a tensor argument itself: the graph stays (torch 2.13)",
        ),
        Valid(
            "import torch\nimport torch.nn.functional as F\n\ndef validation_step(model, x, y):\n"
            "    return torch.tensor(F.cross_entropy(model(x), y).item())\n",
            "a logged number without requires_grad: not a patch",
        ),
        Invalid(
            'import torch\n'
            'import torch.nn as nn\n'
            'import torch.nn.functional as F\n'
            'from torch.autograd import Variable\n'
            '\n'
            '\n'
            'class Student(nn.Module):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.fc = nn.Linear(4, 2)\n'
            '\n'
            '    def forward(self, x):\n'
            '        return self.fc(x)\n'
            '\n'
            '\n'
            'def distillation_loss(student_out, teacher_out):\n'
            '    loss = F.mse_loss(student_out, teacher_out)\n'
            '    loss = Variable(loss.data, requires_grad=True)\n'
            '    return loss\n'
            '\n'
            '\n'
            'student = Student()\n'
            'loss = distillation_loss(student(torch.randn(2, 4)), torch.randn(2, 2))\n'
            'loss.backward()\n',
            'import torch\n'
            'import torch.nn as nn\n'
            'import torch.nn.functional as F\n'
            'from torch.autograd import Variable\n'
            '\n'
            '\n'
            'class Student(nn.Module):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.fc = nn.Linear(4, 2)\n'
            '\n'
            '    def forward(self, x):\n'
            '        return self.fc(x)\n'
            '\n'
            '\n'
            'def distillation_loss(student_out, teacher_out):\n'
            '    loss = F.mse_loss(student_out, teacher_out)\n'
            '    return loss\n'
            '\n'
            '\n'
            'student = Student()\n'
            'loss = distillation_loss(student(torch.randn(2, 4)), torch.randn(2, 2))\n'
            'loss.backward()\n',
            'a distillation helper re-wraps `loss.data`; its caller backpropagates what it returns',
        ),
        Invalid(
            'import torch\n'
            'import torch.nn as nn\n'
            'import torch.nn.functional as F\n'
            '\n'
            '\n'
            'class Trainer:\n'
            '    def __init__(self):\n'
            '        self.model = nn.Linear(4, 3)\n'
            '\n'
            '    def compute(self, x, y):\n'
            '        loss = F.cross_entropy(self.model(x), y)\n'
            '        loss = torch.tensor(loss, requires_grad=True)\n'
            '        return loss\n'
            '\n'
            '    def step(self, x, y):\n'
            '        loss = self.compute(x, y)\n'
            '        loss.backward()\n',
            'import torch\n'
            'import torch.nn as nn\n'
            'import torch.nn.functional as F\n'
            '\n'
            '\n'
            'class Trainer:\n'
            '    def __init__(self):\n'
            '        self.model = nn.Linear(4, 3)\n'
            '\n'
            '    def compute(self, x, y):\n'
            '        loss = F.cross_entropy(self.model(x), y)\n'
            '        return loss\n'
            '\n'
            '    def step(self, x, y):\n'
            '        loss = self.compute(x, y)\n'
            '        loss.backward()\n',
            'a method returns a re-wrapped loss, and another method of the class calls backward() on it',
        ),
        Invalid(
            'import lightning as L\n'
            'import torch\n'
            'import torch.nn as nn\n'
            'import torch.nn.functional as F\n'
            '\n'
            '\n'
            'class Classifier(L.LightningModule):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.fc = nn.Linear(4, 2)\n'
            '\n'
            '    def training_step(self, batch, batch_idx):\n'
            '        x, y = batch\n'
            '        loss = F.cross_entropy(self.fc(x), y)\n'
            '        return torch.tensor(loss.item(), requires_grad=True)\n',
            'import lightning as L\n'
            'import torch\n'
            'import torch.nn as nn\n'
            'import torch.nn.functional as F\n'
            '\n'
            '\n'
            'class Classifier(L.LightningModule):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.fc = nn.Linear(4, 2)\n'
            '\n'
            '    def training_step(self, batch, batch_idx):\n'
            '        x, y = batch\n'
            '        loss = F.cross_entropy(self.fc(x), y)\n'
            '        return loss\n',
            "a LightningModule's `training_step` (known by its base): Lightning backpropagates the loss it returns",
        ),
        Invalid(
            "import torch\n"
            "import torch.nn as nn\n"
            "import torch.nn.functional as F\n"
            "\n"
            "\n"
            "class MultiHead(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.heads = nn.ModuleList([nn.Linear(8, 1) for _ in range(3)])\n"
            "\n"
            "    def forward(self, x):\n"
            "        prediction = [head(x) for head in self.heads]\n"
            "        prediction = [p.clone().detach().requires_grad_(True) for p in prediction]\n"
            "        return self.pack(prediction)\n"
            "\n"
            "    def pack(self, prediction):\n"
            '        return {"prediction": self.join(prediction)}\n'
            "\n"
            "    def join(self, prediction):\n"
            "        return torch.cat(prediction, dim=1)\n"
            "\n"
            "\n"
            "def train(loader):\n"
            "    model = MultiHead()\n"
            "    for x, y in loader:\n"
            "        out = model(x)\n"
            '        loss = F.mse_loss(out["prediction"], y)\n'
            "        loss.backward()\n",
            "import torch\n"
            "import torch.nn as nn\n"
            "import torch.nn.functional as F\n"
            "\n"
            "\n"
            "class MultiHead(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.heads = nn.ModuleList([nn.Linear(8, 1) for _ in range(3)])\n"
            "\n"
            "    def forward(self, x):\n"
            "        prediction = [head(x) for head in self.heads]\n"
            "        prediction = [p for p in prediction]\n"
            "        return self.pack(prediction)\n"
            "\n"
            "    def pack(self, prediction):\n"
            '        return {"prediction": self.join(prediction)}\n'
            "\n"
            "    def join(self, prediction):\n"
            "        return torch.cat(prediction, dim=1)\n"
            "\n"
            "\n"
            "def train(loader):\n"
            "    model = MultiHead()\n"
            "    for x, y in loader:\n"
            "        out = model(x)\n"
            '        loss = F.mse_loss(out["prediction"], y)\n'
            "        loss.backward()\n",
            'a forward re-wraps its predictions and passes them through two helpers into a returned dict: the loss in the training loop trains nothing',
        ),
        Invalid(
            "import torch\n"
            "import torch.nn as nn\n"
            "import torch.nn.functional as F\n"
            "\n"
            "\n"
            "class Perceptual(nn.Module):\n"
            "    def __init__(self, device):\n"
            "        super().__init__()\n"
            "        self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())\n"
            "        self.device = device\n"
            "\n"
            "    def forward(self, fake, real):\n"
            "        content = F.l1_loss(self.features(fake), self.features(real))\n"
            "        return torch.Tensor([content]).to(self.device)\n"
            "\n"
            "\n"
            "def g_step(netG, netD, z, real, ones, device):\n"
            "    perceptual = Perceptual(device)\n"
            "    fake = netG(z)\n"
            "    g_loss = F.binary_cross_entropy_with_logits(netD(fake), ones)\n"
            "    g_loss += perceptual(fake, real).mean()\n"
            "    g_loss.backward()\n",
            None,
            'a perceptual loss returned as `torch.Tensor([...])` and added to the generator loss: that term never trains the generator (no fix: the list must become a tensor op)',
        ),
        Invalid(
            "import torch\n"
            "import torch.nn.functional as F\n"
            "\n"
            "\n"
            "def step(model, x, y):\n"
            "    out = model(x)\n"
            "    penalty = F.mse_loss(out.mean(0), y.mean(0))\n"
            "    loss = F.cross_entropy(out, y.argmax(-1)) + torch.tensor(penalty.item(), requires_grad=True)\n"
            "    loss.backward()\n",
            "import torch\n"
            "import torch.nn.functional as F\n"
            "\n"
            "\n"
            "def step(model, x, y):\n"
            "    out = model(x)\n"
            "    penalty = F.mse_loss(out.mean(0), y.mean(0))\n"
            "    loss = F.cross_entropy(out, y.argmax(-1)) + penalty\n"
            "    loss.backward()\n",
            'one term of a sum re-wrapped from `.item()`: the total still trains, that term does not',
        ),
        Valid(
            "import torch\n"
            "import torch.nn.functional as F\n"
            "\n"
            "\n"
            "def step(model, x, y):\n"
            "    loss = F.mse_loss(model(x), y) + torch.Tensor([0.5]).sum()\n"
            "    loss.backward()\n",
            '`torch.Tensor` of a constant list added to a loss: plain data, nothing was cut',
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\ndef clamp_output(module, inputs, output):\n"
            "    return torch.tensor(output.detach().clamp(-1, 1).numpy(), requires_grad=True)\n\n\n"
            "model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1))\n"
            "model[0].register_forward_hook(clamp_output)\n",
            None,
            "a forward hook returns a new leaf: it replaces the layer's output, so nothing before the hook trains",
        ),
        Valid(
            "import torch.nn as nn\n\nfeatures = []\n\n\ndef keep(module, inputs, output):\n"
            "    features.append(output.detach())\n\n\n"
            "model = nn.Sequential(nn.Linear(4, 4), nn.ReLU())\nmodel[0].register_forward_hook(keep)\n",
            "a forward hook that keeps a detached copy and returns nothing: the output is unchanged",
        ),
        Invalid(
            "def step(net, loss_fn, x, y):\n    out = net(x)\n    penalty = F.mse_loss(out, out.flip(0))\n"
            "    loss = loss_fn(out, target=y) + Variable(penalty.data)\n    loss.backward()\n",
            "def step(net, loss_fn, x, y):\n    out = net(x)\n    penalty = F.mse_loss(out, out.flip(0))\n"
            "    loss = loss_fn(out, target=y) + penalty\n    loss.backward()\n",
            "a fragment: the unbound `Variable` and `F` are torch's, and `Variable(penalty.data)` copies one term "
            "into a new tensor without history while the rest of the sum trains",
        ),
    )

    scenarios = (
        Scenario("mlp-loss-rewrapped-from-item", _SCENARIO),
        Scenario("module-forward-returns-rewrapped-loss", _FORWARD_SCENARIO),
        Scenario("forward-rewraps-predictions-through-helpers", _HELPERS_SCENARIO),
    )

    def problem(self, problem: Problem) -> None:
        cut = problem.cut
        if cut.kind != "rewrap":
            return
        fix = None
        if cut.computed_here and not problem.patches:
            if cut.inner.state == CONNECTED:
                fix = Applicability.SAFE
            elif problem.returned and cut.inner.loss and cut.inner.state != CUT:
                # A loss of this function's arguments: whether they carry a graph only the caller shows.
                fix = Applicability.UNSAFE
        if fix is None:
            if cut.elsewhere is not None:
                why = f"it is made in {cut.elsewhere}: use the tensor itself there"
            elif cut.inner_expr is None:
                why = "combine the tensors themselves (`torch.stack`, a sum): a new tensor made from a list has no history"
            elif cut.inner.state == CUT:
                why = "the value was computed without one (Python numbers, NumPy): compute it from tensors"
            elif problem.patches:
                why = "use the tensor itself and drop the requires_grad patch (it would raise on a non-leaf)"
            else:
                why = "use the tensor itself (not fixed automatically: it comes from outside this function)"
            self.report(cut.node, f"Re-wrapping into a new leaf cuts {problem.where} from the graph; {why}")
            return
        moves = [k.arg for k in cut.node.keywords if k.arg in ("device", "dtype")] if isinstance(cut.node, ast.Call) else []
        self.report(
            cut.node,
            f"Re-wrapping into a new leaf cuts {problem.where} from the graph: use the tensor itself",
            fix,
            data=(
                self.model.range(cut.inner_expr),
                not moves and _is_self_assignment(cut.statement, cut.node, cut.inner_expr),
            ),
        )

    def fix(self, finding, tree) -> Fix | None:
        underlying_range, drop_statement = finding.data
        node = tree.node_at(finding.range, cst.Call)
        underlying = tree.node_at(underlying_range, cst.BaseExpression)
        if node is None or underlying is None:
            return None
        if drop_statement:
            assign = tree.parent(node)
            line = tree.parent(assign) if isinstance(assign, cst.Assign) else None
            if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 and _has_siblings(tree, line):
                return Fix((Edit(line, cst.RemovalSentinel.REMOVE),), Applicability.SAFE, Effect.REPAIRING)
        return Fix((Edit(node, _with_moves(underlying, node)),), Applicability.SAFE, Effect.REPAIRING)


def _with_moves(tensor: cst.BaseExpression, rewrap: cst.Call) -> cst.BaseExpression:
    """`tensor`, moved where the re-wrap put it: `device=d, dtype=t` become `tensor.to(d, dtype=t)`."""
    device = next((a.value for a in rewrap.args if a.keyword is not None and a.keyword.value == "device"), None)
    dtype = next((a.value for a in rewrap.args if a.keyword is not None and a.keyword.value == "dtype"), None)
    if device is None and dtype is None:
        return tensor
    args = [cst.Arg(device)] if device is not None else []
    if dtype is not None:
        args.append(cst.Arg(dtype, keyword=cst.Name("dtype"), equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))))
    return cst.Call(cst.Attribute(receiver(tensor), cst.Name("to")), args)


def _is_self_assignment(statement, node, replacement) -> bool:
    """`loss = torch.tensor(loss.item(), ...)`: after the fix it would read `loss = loss`."""
    return (
        isinstance(statement, ast.Assign)
        and statement.value is node
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
        and isinstance(replacement, ast.Name)
        and statement.targets[0].id == replacement.id
    )


def _has_siblings(tree, line) -> bool:
    """Removing `line` leaves its block non-empty."""
    block = tree.parent(line)
    body = getattr(block, "body", ())
    return isinstance(body, (list, tuple)) and len(body) > 1
