"""GF604: softmax output given to cross_entropy, sigmoid output given to binary_cross_entropy_with_logits."""
from __future__ import annotations

import ast
import re

from autofix.lazy import libcst as cst
from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import Kind, SemanticModel, keyword
from codemods._activations import SIGMOID, SOFTMAX, activation_of, input_of_activation

# The losses that apply an activation themselves, and which one (torch 2.13).
_FUNCTIONAL_LOSSES = {
    "torch.nn.functional.cross_entropy": SOFTMAX,
    "torch.nn.functional.binary_cross_entropy_with_logits": SIGMOID,
}
_LOSS_MODULES = {
    "torch.nn.CrossEntropyLoss": SOFTMAX, "torch.nn.modules.loss.CrossEntropyLoss": SOFTMAX,
    "torch.nn.BCEWithLogitsLoss": SIGMOID, "torch.nn.modules.loss.BCEWithLogitsLoss": SIGMOID,
}
_APPLIES = {SOFTMAX: "log_softmax", SIGMOID: "a sigmoid"}

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


class DoubleActivation(Rule):
    """
    ## What it does
    Finds a loss that applies an activation itself given a tensor that already went through it:
    `softmax` output passed to `F.cross_entropy` or an `nn.CrossEntropyLoss`, and `sigmoid` output passed to
    `F.binary_cross_entropy_with_logits` or an `nn.BCEWithLogitsLoss`. The activation may be inline, bound to a
    name, behind shape-only operations (`.view()`, `.float()`), the last layer of an `nn.Sequential` built in
    the file, or at the end of the `forward` of a module class of the same file whose output the loss receives.

    ## Why is this bad?
    `cross_entropy` computes `log_softmax` of its input; given probabilities it computes the log-softmax of
    values in [0, 1], whose differences are at most 1, so the loss can never get near 0 and its gradients
    shrink several-fold (autograd fact "softmax before cross_entropy (which applies log_softmax itself)
    shrinks the gradients several-fold"; 9.0x for random 10-class logits on torch 2.13). Training still
    "works", slowly and to a worse optimum: a 10-class MLP trained 100 SGD steps (lr 0.1) reached 45% training
    accuracy where the same run on logits reached 98% (how far behind depends on the learning rate and the
    data). `binary_cross_entropy_with_logits` applies a sigmoid itself; given `sigmoid(x)` its input lies in
    (0, 1), so the second sigmoid maps everything into (0.5, 0.73), and the gradients shrink about 5x for
    standard-normal logits (autograd fact "sigmoid before binary_cross_entropy_with_logits shrinks the
    gradients").

    ## Example
    ```python
    loss = F.cross_entropy(F.softmax(logits, dim=1), target)
    ```

    ## Use instead
    ```python
    loss = F.cross_entropy(logits, target)
    ```
    (and `F.nll_loss(F.log_softmax(x, 1), y)` or `F.binary_cross_entropy(torch.sigmoid(x), y)` where the
    activation is wanted in the model).

    ## Runtime
    Silent: gradients shrink several-fold, training is slow and converges worse.

    ## Fix safety
    - Softmax or sigmoid applied inline in the loss's input (`F.cross_entropy(F.softmax(x, 1), y)`,
      `loss_fn(torch.sigmoid(z), t)`): safe and repairing. The fix passes the activation's input instead; the
      activation's value is used nowhere else (it has no name), so nothing but the loss changes. The loss's
      values change too (they can now reach 0), which is what repairing means; a softmax with `dtype=` is not
      rewritten (the cast would go with it).
    - The activation bound to a name (`probs = F.softmax(x, 1)`): no fix. The probabilities are often also
      used for metrics or logging, and the loss would need the logits under a name that still holds them.
    - The activation at the end of a model's `forward` (or as the last layer of an `nn.Sequential`): no fix.
      Removing it changes what every other caller of the model gets (inference code that reads probabilities,
      an exported model); returning logits and applying softmax where probabilities are needed is a design
      change for the author.

    Only the loss's input is checked: softmax targets (distillation, label smoothing by hand) are fine. A
    softmax over a dimension other than the class dimension (1, -1 or implicit) is not reported, and neither
    is a `forward` that returns probabilities on some paths and logits on others (`if self.training:`).

    ## Effect
    Repairing: full-size gradients; the accuracy gap closes.
    """

    code = "GF604"
    name = "double-activation"
    message = "the loss applies this activation itself: it is applied twice and the gradients shrink several-fold"
    runtime = "silent: gradients shrink several-fold (about 9x on 10 classes); slower, worse training"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"cross_entropy|CrossEntropyLoss|BCEWithLogitsLoss")

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
    )

    scenarios = (Scenario("ten-class-softmax-into-cross-entropy", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        for call in model.nodes(ast.Call):
            expected = self._loss_activation(model, call)
            if expected is None:
                continue
            given = _loss_input(call)
            found = activation_of(model, given) if given is not None else None
            if found is None or found.kind != expected:
                continue
            loss = model.source(call.func)
            applied = f"`{loss}` applies {_APPLIES[expected]} itself"
            if found.forward is not None:
                owner = model.enclosing_class(found.forward)
                message = (
                    f"`{owner.name}.forward` returns {expected} output (line {found.node.lineno}), and {applied}: it "
                    "is applied twice and the gradients shrink several-fold; return the logits"
                )
            else:
                message = (
                    f"{applied}: the {expected} at line {found.node.lineno} makes it apply twice and the gradients "
                    "shrink several-fold; give it the logits"
                )
            form = _removable(model, found.node) if found.inline else None
            self.report(call, message, fix=Applicability.SAFE if form else None,
                        data=(model.range(found.node), form) if form else None)

    @staticmethod
    def _loss_activation(model: SemanticModel, call: ast.Call) -> str | None:
        """The activation `call` applies to its input, when it is one of the losses above."""
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
        inner = _cst_input(node, form)
        if inner is None:
            return None
        if not isinstance(inner, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) and not inner.lpar:
            parent = tree.parent(node)
            if isinstance(parent, cst.Attribute):  # `F.softmax(a + b, 1).view(...)`: keep `(a + b).view(...)`
                inner = inner.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return Fix((Edit(node, inner),), Applicability.SAFE, Effect.REPAIRING)


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
