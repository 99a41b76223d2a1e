"""GF604: a loss given the output of an activation that does not fit it: applied twice (softmax into cross_entropy,
sigmoid into binary_cross_entropy_with_logits), the wrong kind (sigmoid into cross_entropy, probabilities into
nll_loss or kl_div, ...), or raw logits into nll_loss. One table of loss/activation pairs."""
from __future__ import annotations

import ast

from autofix.lazy import libcst as cst
from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import Kind, SemanticModel, keyword
from codemods._torch import AnyWord
from codemods._activations import LOG_SOFTMAX, RAW, SIGMOID, SOFTMAX, activation_of, input_of_activation

CE, BCE_LOGITS, NLL, KL_DIV, BCE = "cross_entropy", "bce_with_logits", "nll_loss", "kl_div", "bce"
_FUNCTIONAL_LOSSES = {
    "torch.nn.functional.cross_entropy": CE,
    "torch.nn.functional.binary_cross_entropy_with_logits": BCE_LOGITS,
    "torch.nn.functional.nll_loss": NLL,
    "torch.nn.functional.kl_div": KL_DIV,
    "torch.nn.functional.binary_cross_entropy": BCE,
}
_LOSS_MODULES = {
    f"torch.nn{module}.{name}": loss
    for module in ("", ".modules.loss")
    for name, loss in (("CrossEntropyLoss", CE), ("BCEWithLogitsLoss", BCE_LOGITS), ("NLLLoss", NLL),
                       ("KLDivLoss", KL_DIV), ("BCELoss", BCE))
}
TWICE, WRONG = "twice", "wrong"
# The table (checked on torch 2.13, tests/test_training_mistakes_with_torch.py): for each loss, the activations
# whose output it must not be given, and why. A pair not listed is right: log_softmax into cross_entropy
# (log_softmax is idempotent), log_softmax into nll_loss or kl_div, sigmoid into binary_cross_entropy, logits into
# cross_entropy or binary_cross_entropy_with_logits. Softmax into binary_cross_entropy is left alone (probabilities,
# as it expects; whether they should be exclusive is the author's design).
_TABLE = {
    CE: {
        SOFTMAX: (TWICE, ("applies log_softmax itself: the softmax is applied twice, the loss has a floor and the "
                          "gradients shrink several-fold; give it the logits")),
        SIGMOID: (WRONG, ("expects logits and applies log_softmax itself: sigmoid outputs lie in (0, 1), so the loss "
                          "cannot fall below log(1 + (K-1)/e) for K classes; give it the logits")),
    },
    BCE_LOGITS: {
        SIGMOID: (TWICE, ("applies a sigmoid itself: it is applied twice, and the gradients shrink several-fold; "
                          "give it the logits")),
        SOFTMAX: (WRONG, ("applies a sigmoid itself: softmax outputs lie in [0, 1], so its sigmoid stays within "
                          "[0.5, 0.73] and the loss has a floor; give it the logits")),
        LOG_SOFTMAX: (WRONG, ("applies a sigmoid itself: log-probabilities are at most 0, so its sigmoid is at most 0.5 "
                              "and a positive target's loss never falls below log 2; give it the logits")),
    },
    NLL: {
        SOFTMAX: (WRONG, ("expects log-probabilities (it returns -input[target]): given probabilities it minimises "
                          "-p, whose gradient vanishes on confidently wrong samples; give it log_softmax")),
        SIGMOID: (WRONG, ("expects log-probabilities (it returns -input[target]): given sigmoid outputs it minimises "
                          "-sigmoid, with no log and no normalisation; give it log_softmax of the logits")),
        RAW: (WRONG, ("expects log-probabilities (it returns -input[target]): given raw logits it has no floor, so the "
                      "loss falls forever while the true cross-entropy rises; use cross_entropy, or log_softmax first")),
    },
    KL_DIV: {
        SOFTMAX: (WRONG, ("expects log-probabilities as its input: given probabilities it pushes all mass onto the "
                          "target's largest class instead of matching the target; give it log_softmax")),
        SIGMOID: (WRONG, ("expects log-probabilities as its input: given sigmoid outputs it optimises the wrong "
                          "objective; give it log_softmax of the logits")),
    },
    BCE: {
        LOG_SOFTMAX: (WRONG, ("expects probabilities in [0, 1]: log-probabilities are negative, so it raises \"all "
                              "elements of input should be between 0 and 1\"; give it sigmoid or softmax output")),
    },
}

_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(4)

# Ten well separated classes: the logits learn them quickly, probabilities fed to cross_entropy slowly.
centres = torch.randn(10, 20, generator=g) * 3
y = torch.randint(0, 10, (256,), generator=g)
x = (centres[y] + torch.randn(256, 20, generator=g)).to(device)
y = y.to(device)
model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 10)).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
for step in range(10):
    optimizer.zero_grad()
    loss = F.cross_entropy(F.softmax(model(x), dim=1), y)
    loss.backward()
    optimizer.step()
"""

_NLL_SCENARIO = _SCENARIO.replace(
    "loss = F.cross_entropy(F.softmax(model(x), dim=1), y)",
    "loss = F.nll_loss(torch.exp(F.log_softmax(model(x), dim=1)), y)",
)


class DoubleActivation(Rule):
    """
    ## What it does
    Finds a loss given the output of an activation that does not fit it, from one table of pairs. The losses:
    `cross_entropy`, `nll_loss`, `binary_cross_entropy`, `binary_cross_entropy_with_logits` and `kl_div`, as
    functions or as modules (`nn.CrossEntropyLoss`, `nn.NLLLoss`, `nn.BCELoss`, `nn.BCEWithLogitsLoss`,
    `nn.KLDivLoss`). The activations: softmax, log_softmax and sigmoid (functions, tensor methods and `nn` layers),
    `exp` of a log_softmax (which is a softmax), and raw logits (an `nn.Linear`/`nn.Conv*d` output with nothing
    after it). For each pair the table says right, applied twice, or the wrong kind:

    | loss | reported | right |
    |---|---|---|
    | cross_entropy | softmax (twice), sigmoid (wrong) | logits; log_softmax (idempotent) |
    | binary_cross_entropy_with_logits | sigmoid (twice), softmax, log_softmax (wrong) | logits |
    | nll_loss | softmax, exp(log_softmax), sigmoid, raw logits (wrong) | log_softmax |
    | kl_div (its input) | softmax, exp(log_softmax), sigmoid (wrong) | log_softmax |
    | binary_cross_entropy | log_softmax (wrong: raises) | sigmoid; softmax (left to the author) |

    The activation may be inline, bound to a name, behind shape-only operations (`.view()`, `.float()`), the last
    layer of an `nn.Sequential` built in the file, or at the end of the `forward` of a module class of the same
    file whose output the loss receives; the loss may be built anywhere the model sees (`self.criterion =
    nn.NLLLoss()` in `__init__` and called in another method, or in the training loop).

    ## Why is this bad?
    Each checked on torch 2.13 (tests/test_training_mistakes_with_torch.py and the autograd facts):

    - `cross_entropy` computes `log_softmax` of its input. Given probabilities, the differences between its inputs
      are at most 1, so the loss has a floor and its gradients shrink several-fold (autograd fact "softmax before
      cross_entropy ... shrinks the gradients several-fold"; 9.0x for random 10-class logits). Given sigmoid output
      the same floor holds: log(1 + (K-1)/e) for K classes (0.74 for 4 classes: "sigmoid into cross_entropy has a
      loss floor too"). log_softmax before it is harmless: log_softmax of log-probabilities is the identity.
    - `binary_cross_entropy_with_logits` applies a sigmoid itself. Given `sigmoid(x)` the second sigmoid maps
      everything into (0.5, 0.73) and the gradients shrink about 5x; given softmax output the loss cannot go below
      about 0.6 on one-hot targets, against 0.004 on logits ("softmax into binary_cross_entropy_with_logits has a
      loss floor"); given log-probabilities (at most 0) the sigmoid is at most 0.5, so each positive target costs at
      least log 2.
    - `nll_loss` returns `-input[target]`: it expects log-probabilities. On probabilities (softmax, or
      `exp(log_softmax)`) it minimises `-p`, whose gradient vanishes where the model is confidently wrong (2,983x
      smaller than the log-probability gradient on such a sample: "nll_loss on probabilities ..."). On raw logits it
      has no floor: the loss falls without end while the true cross-entropy rises ("nll_loss on raw logits is
      unbounded below").
    - `kl_div` expects its input as log-probabilities. Given probabilities, its minimum puts all the mass on the
      target's largest class instead of matching the target distribution.
    - `binary_cross_entropy` given log-probabilities raises "all elements of input should be between 0 and 1".

    ## Example
    ```python
    loss = F.cross_entropy(F.softmax(logits, dim=1), target)
    loss = F.nll_loss(torch.exp(F.log_softmax(logits, dim=1)), target)
    ```

    ## Use instead
    ```python
    loss = F.cross_entropy(logits, target)
    loss = F.nll_loss(F.log_softmax(logits, dim=1), target)
    ```

    ## Runtime
    Silent (except log-probabilities into binary_cross_entropy, which raises): gradients shrink several-fold, or the
    loss has a floor, or (nll_loss on logits) no floor at all; training is slow, converges worse, or diverges.

    ## Fix safety
    - An activation the loss applies itself, applied inline in the loss's input (`F.cross_entropy(F.softmax(x, 1),
      y)`, `loss_fn(torch.sigmoid(z), t)`): safe and repairing. The fix passes the activation's input instead; the
      activation's value is used nowhere else (it has no name), so nothing but the loss changes. A softmax with
      `dtype=` is not rewritten (the cast would go with it).
    - Probabilities inline in `nll_loss` or `kl_div`: safe and repairing. `exp(log_softmax(x))` loses its `exp`;
      `F.softmax(x, 1)`, `torch.softmax(x, 1)` and `x.softmax(1)` become `log_softmax` with the same arguments,
      which is exactly the input these losses document.
    - Every other pair (the wrong kind: sigmoid into cross_entropy, softmax into the logits loss, raw logits into
      nll_loss, ...), and an activation bound to a name or at the end of a model's `forward` (or as the last layer
      of an `nn.Sequential`): no fix. Which loss or which activation was meant is the author's choice, and removing
      an activation from a model changes what every other caller (inference code, an exported model) gets.

    Only the loss's input is checked: softmax targets (distillation, label smoothing by hand) are fine. A softmax
    or log_softmax over a dimension other than the class dimension (1, -1 or implicit) is not reported, and
    neither is a `forward` that returns one kind of output on some paths and another on others (`if
    self.training:`).

    ## Effect
    Repairing: the loss gets the input it documents; full-size gradients, no floor.
    """

    code = "GF604"
    name = "double-activation"
    message = "the loss is given the output of an activation that does not fit it (applied twice, or the wrong kind)"
    runtime = "silent: gradients shrink several-fold, or the loss has a floor (or none); slower, worse training"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = AnyWord("cross_entropy", "CrossEntropyLoss", "BCEWithLogitsLoss", "nll_loss", "NLLLoss", "kl_div",
                        "KLDivLoss", "BCELoss")

    examples = (
        Invalid(
            "import torch.nn.functional as F\n\nfor x, y in loader:\n"
            "    loss = F.cross_entropy(F.softmax(model(x), dim=1), y)\n",
            "import torch.nn.functional as F\n\nfor x, y in loader:\n    loss = F.cross_entropy(model(x), y)\n",
            "softmax inline in cross_entropy",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\ncriterion = nn.BCEWithLogitsLoss()\n\n\n"
            "def step(model, x, t):\n    return criterion(torch.sigmoid(model(x)), t)\n",
            "import torch\nimport torch.nn as nn\n\ncriterion = nn.BCEWithLogitsLoss()\n\n\n"
            "def step(model, x, t):\n    return criterion(model(x), t)\n",
            "sigmoid inline in a BCEWithLogitsLoss module",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass Tagger(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.proj = nn.Linear(32, 9)\n        self.loss = nn.CrossEntropyLoss()\n\n"
            "    def forward(self, h, labels):\n        logits = self.proj(h)\n"
            "        return self.loss(logits.softmax(-1).view(-1, 9), labels.view(-1))\n",
            "import torch\nimport torch.nn as nn\n\n\nclass Tagger(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.proj = nn.Linear(32, 9)\n        self.loss = nn.CrossEntropyLoss()\n\n"
            "    def forward(self, h, labels):\n        logits = self.proj(h)\n"
            "        return self.loss(logits.view(-1, 9), labels.view(-1))\n",
            "Tensor.softmax behind a view, in a module's own loss",
        ),
        Invalid(
            "import torch.nn as nn\n\nloss_fn = nn.CrossEntropyLoss()\nfor x, y in loader:\n"
            "    loss = loss_fn(nn.Softmax(dim=1)(model(x)), y)\n",
            "import torch.nn as nn\n\nloss_fn = nn.CrossEntropyLoss()\nfor x, y in loader:\n"
            "    loss = loss_fn(model(x), y)\n",
            "an nn.Softmax layer applied inline",
        ),
        Invalid(
            "import torch.nn.functional as F\n\nfor x, y in loader:\n    probs = F.softmax(model(x), dim=1)\n"
            "    loss = F.cross_entropy(probs, y)\n    acc = (probs.argmax(1) == y).float().mean()\n",
            None,
            "probabilities bound to a name and also used for a metric: reported, no fix",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Net(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(784, 10)\n\n"
            "    def forward(self, x):\n        return F.softmax(self.fc(x), dim=1)\n\n\n"
            "model = Net()\ncriterion = nn.CrossEntropyLoss()\nfor x, y in loader:\n"
            "    loss = criterion(model(x), y)\n",
            None,
            "softmax at the end of the model's forward: reported at the loss, no fix (other callers want it)",
        ),
        Invalid(
            "import torch.nn as nn\n\nmodel = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10),"
            " nn.Softmax(dim=1))\nloss_fn = nn.CrossEntropyLoss()\nfor x, y in loader:\n"
            "    out = model(x)\n    loss = loss_fn(out, y)\n",
            None,
            "an nn.Sequential that ends in nn.Softmax: reported, no fix",
        ),
        Valid(
            "import torch.nn.functional as F\n\nfor x, y in loader:\n"
            "    loss = F.nll_loss(F.log_softmax(model(x), dim=1), y)\n",
            "log_softmax with nll_loss",
        ),
        Valid(
            "import torch.nn.functional as F\n\nfor x, y in loader:\n    logits = model(x)\n"
            "    loss = F.cross_entropy(logits, y)\n    probs = F.softmax(logits, dim=1)\n"
            "    acc = (probs.argmax(1) == y).float().mean()\n",
            "softmax used only for a metric",
        ),
        Valid(
            "import torch\nimport torch.nn.functional as F\n\nfor x, t in loader:\n"
            "    loss = F.binary_cross_entropy(torch.sigmoid(model(x)), t)\n",
            "sigmoid with binary_cross_entropy (which expects probabilities)",
        ),
        Valid(
            "import torch.nn.functional as F\n\n\ndef distill(student_logits, teacher_logits, T=2.0):\n"
            "    return F.cross_entropy(student_logits / T, F.softmax(teacher_logits / T, dim=1))\n",
            "softmax targets (distillation): only the input is the loss's to activate",
        ),
        Valid(
            "import torch\nimport torch.nn.functional as F\n\nfor x, y in loader:\n"
            "    attn = torch.softmax(scores, dim=0)\n    loss = F.cross_entropy(attn, y)\n",
            "a softmax over dimension 0 is not the class softmax",
        ),
        Valid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Net(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(16, 4)\n\n"
            "    def forward(self, x):\n        logits = self.fc(x)\n        if self.training:\n            return logits\n"
            "        return F.softmax(logits, dim=1)\n\n\nmodel = Net()\nfor x, y in loader:\n"
            "    loss = F.cross_entropy(model(x), y)\n",
            "a forward that returns logits in training and probabilities in eval",
        ),
        Valid(
            "import torch.nn.functional as F\n\n\ndef loss(outputs, y):\n"
            "    return F.cross_entropy(outputs.softmax(-1), y)\n",
            "what `outputs` holds is unknown (a parameter with no annotation): not known to be a tensor",
        ),
        Valid(
            "import torch\nimport torch.nn.functional as F\n\nfor x, y in loader:\n"
            "    loss = F.cross_entropy(torch.log(F.softmax(model(x), 1)), y)\n",
            "log of the probabilities: log_softmax of log-probabilities is the identity, nothing is applied twice",
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\n\nfor x, y in loader:\n"
            "    loss = F.cross_entropy(torch.sigmoid(model(x)), y)\n",
            None,
            "sigmoid into cross_entropy: the wrong kind, reported without a fix",
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\n\nfor x, y in loader:\n"
            "    loss = F.nll_loss(torch.exp(F.log_softmax(model(x), dim=1)), y)\n",
            "import torch\nimport torch.nn.functional as F\n\nfor x, y in loader:\n"
            "    loss = F.nll_loss(F.log_softmax(model(x), dim=1), y)\n",
            "exp of log_softmax into nll_loss: the exp goes",
        ),
        Invalid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Classifier(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(20, 5)\n"
            "        self.criterion = nn.NLLLoss()\n\n    def forward(self, x):\n        return self.fc(x)\n\n"
            "    def training_loss(self, x, y):\n        return self.criterion(F.softmax(self(x), dim=1), y)\n",
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Classifier(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(20, 5)\n"
            "        self.criterion = nn.NLLLoss()\n\n    def forward(self, x):\n        return self.fc(x)\n\n"
            "    def training_loss(self, x, y):\n        return self.criterion(F.log_softmax(self(x), dim=1), y)\n",
            "softmax into an NLLLoss declared in __init__ and applied in another method: softmax becomes log_softmax",
        ),
        Invalid(
            "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.hidden = nn.Linear(784, 128)\n        self.out = nn.Linear(128, 10)\n\n"
            "    def forward(self, x):\n        return self.out(self.hidden(x).relu())\n\n\nmodel = Net()\n"
            "criterion = nn.NLLLoss()\nfor x, y in loader:\n    loss = criterion(model(x), y)\n",
            None,
            "NLLLoss on raw logits: forward ends in a Linear and no log_softmax is on the path",
        ),
        Invalid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Net(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(10, 3)\n"
            "        self.criterion = nn.NLLLoss()\n\n    def forward(self, x):\n"
            "        return F.softmax(self.fc(x), dim=1)\n\n\nmodel = Net()\nfor x, y in loader:\n"
            "    loss = model.criterion(model(x), y)\n",
            None,
            "softmax ending forward, into the model's own NLLLoss applied in the training loop: reported, no fix",
        ),
        Invalid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Tagger(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(16, 4)\n\n"
            "    def forward(self, x):\n        return F.softmax(self.fc(x), dim=-1)\n\n\nmodel = Tagger()\n"
            "criterion = nn.BCEWithLogitsLoss()\nfor x, t in loader:\n    loss = criterion(model(x), t)\n",
            None,
            "softmax ending forward into BCEWithLogitsLoss in the training loop: reported, no fix",
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\n\n\ndef distill(student: torch.Tensor, teacher: torch.Tensor):\n"
            "    return F.kl_div(student.softmax(-1), F.softmax(teacher, dim=-1), reduction='batchmean')\n",
            "import torch\nimport torch.nn.functional as F\n\n\ndef distill(student: torch.Tensor, teacher: torch.Tensor):\n"
            "    return F.kl_div(student.log_softmax(-1), F.softmax(teacher, dim=-1), reduction='batchmean')\n",
            "probabilities as kl_div's input: the method softmax becomes log_softmax",
        ),
        Invalid(
            "import torch.nn.functional as F\n\nfor x, t in loader:\n"
            "    loss = F.binary_cross_entropy(F.log_softmax(model(x), dim=1), t)\n",
            None,
            "log_softmax into binary_cross_entropy (raises): reported without a fix",
        ),
        Valid(
            "import torch.nn.functional as F\n\nfor x, y in loader:\n"
            "    loss = F.cross_entropy(F.log_softmax(model(x), dim=1), y)\n",
            "log_softmax into cross_entropy: log_softmax is idempotent, nothing changes",
        ),
        Valid(
            "import torch\nimport torch.nn.functional as F\n\n\ndef distill(student: torch.Tensor, teacher: torch.Tensor):\n"
            "    return F.kl_div(F.log_softmax(student, dim=-1), F.softmax(teacher, dim=-1), reduction='batchmean')\n",
            "kl_div of log-probabilities against probabilities, as documented",
        ),
        Valid(
            "import torch.nn.functional as F\n\nfor x, t in loader:\n"
            "    loss = F.binary_cross_entropy(F.softmax(model(x), dim=1), t)\n",
            "softmax into binary_cross_entropy: probabilities, as it expects",
        ),
        Valid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Net(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(784, 10)\n\n"
            "    def forward(self, x):\n        return F.log_softmax(self.fc(x), dim=1)\n\n\nmodel = Net()\n"
            "for x, y in loader:\n    loss = F.nll_loss(model(x), y)\n",
            "nll_loss on a forward that ends in log_softmax (the MNIST example)",
        ),
        Valid(
            "import torch.nn.functional as F\n\n\ndef step(model, x, y):\n    return F.nll_loss(model(x), y)\n",
            "nll_loss on the output of a model the file does not show",
        ),
    )

    scenarios = (
        Scenario("ten-class-softmax-into-cross-entropy", _SCENARIO),
        Scenario("exp-of-log-softmax-into-nll-loss", _NLL_SCENARIO),
    )

    def check(self, model: SemanticModel) -> None:
        for call in model.nodes(ast.Call):
            given = _loss_input(call)
            if given is None:
                continue  # no input to look at: asked first, as what the callee is costs an inference
            loss_kind = self._loss_kind(model, call)
            if loss_kind is None:
                continue
            found = activation_of(model, given)
            if found is None or found.kind not in _TABLE[loss_kind]:
                continue
            verdict, why = _TABLE[loss_kind][found.kind]
            loss = model.source(call.func)
            what = "exp(log_softmax) output" if found.exp else "raw logits" if found.kind == RAW else f"{found.kind} output"
            if found.forward is not None:
                owner = model.enclosing_class(found.forward)
                where = f"`{owner.name}.forward` returns {what} (line {found.node.lineno})"
            elif found.kind == RAW:
                where = f"it is given raw logits (line {found.node.lineno}, no log_softmax after them)"
            else:
                where = f"it is given {what} (line {found.node.lineno})"
            form = _fix_form(model, found, loss_kind, verdict)
            self.report(call, f"`{loss}`: {where}; it {why}", fix=Applicability.SAFE if form else None,
                        data=(model.range(found.node), form) if form else None)

    @staticmethod
    def _loss_kind(model: SemanticModel, call: ast.Call) -> str | None:
        """Which loss of the table `call` is: a torch.nn.functional loss, or a call of a loss module (built
        anywhere the model can see: a name, `self.criterion` set in `__init__`, an attribute of an instance)."""
        qualified = model.qualified_name(call.func)
        if qualified is not None:
            return _FUNCTIONAL_LOSSES.get(qualified)
        callee = model.value(call.func)
        return _LOSS_MODULES.get(callee.cls) if callee.kind is Kind.MODULE else None

    def fix(self, finding, tree) -> Fix | None:
        where, form = finding.data
        node = tree.node_at(where, cst.Call)
        if node is None:
            return None
        if form == "rename":  # softmax -> log_softmax, in the spelling the call uses
            func = node.func
            renamed = func.with_changes(attr=cst.Name(_LOG_NAMES[func.attr.value]))
            return Fix((Edit(node, node.with_changes(func=renamed)),), Applicability.SAFE, Effect.REPAIRING)
        inner = _cst_input(node, form)
        if inner is None:
            return None
        if not isinstance(inner, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) and not inner.lpar:
            parent = tree.parent(node)
            if isinstance(parent, cst.Attribute):  # `F.softmax(a + b, 1).view(...)`: keep `(a + b).view(...)`
                inner = inner.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return Fix((Edit(node, inner),), Applicability.SAFE, Effect.REPAIRING)


_LOG_NAMES = {"softmax": "log_softmax", "Softmax": "LogSoftmax"}


def _fix_form(model: SemanticModel, found, loss_kind: str, verdict: str) -> str | None:
    """How the inline activation is repaired: removed where the loss applies it itself ("method"/"call", see
    `_removable`), an exp removed where nll_loss/kl_div were given exp(log_softmax), softmax renamed log_softmax
    where they were given softmax ("rename"); None for the rest (no fix)."""
    if not found.inline:
        return None
    if verdict == TWICE:
        return _removable(model, found.node)
    if loss_kind in (NLL, KL_DIV) and found.kind == SOFTMAX:
        if found.exp:
            return _removable(model, found.node)
        func = found.node.func if isinstance(found.node, ast.Call) else None
        if isinstance(func, ast.Attribute) and func.attr in _LOG_NAMES and keyword(found.node, "dtype") is None:
            return "rename"
    return None


def _loss_input(call: ast.Call) -> ast.AST | None:
    if call.args and not isinstance(call.args[0], ast.Starred):
        return call.args[0]
    return keyword(call, "input")


def _removable(model: SemanticModel, activation: ast.AST) -> str | None:
    """For an activation call whose input can take its place (no `dtype=` cast that would go with it): its form,
    "method" (`x.softmax(1)`) or "call" (`F.softmax(x, 1)`, `nn.Softmax(1)(x)`); else None."""
    if not isinstance(activation, ast.Call) or keyword(activation, "dtype") is not None:
        return None
    inner = input_of_activation(model, activation)
    if inner is None:
        return None
    return "method" if isinstance(activation.func, ast.Attribute) and inner is activation.func.value else "call"


def _cst_input(call: cst.Call, form: str) -> cst.BaseExpression | None:
    """The LibCST twin of `input_of_activation`, for the form detection found: the receiver of `x.softmax(...)`,
    else the first positional (or `input=`) argument."""
    if form == "method":
        return call.func.value if isinstance(call.func, cst.Attribute) else None
    for arg in call.args:
        if arg.keyword is None and not arg.star:
            return arg.value
        if arg.keyword is not None and arg.keyword.value == "input":
            return arg.value
    return None
