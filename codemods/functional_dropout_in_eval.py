"""GF605: `F.dropout(x, p)` in a module's method without `training=self.training`: it drops in eval() too."""
from __future__ import annotations

import ast
import re

from autofix.lazy import libcst as cst
from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import FUNCTIONS, SemanticModel

# The functional dropouts whose `training` parameter defaults to True (torch 2.13). `alpha_dropout` and
# `feature_alpha_dropout` default to training=False: without the flag they never drop, which is another bug.
DROPS_BY_DEFAULT = frozenset(
    f"torch.nn.functional.{name}" for name in ("dropout", "dropout1d", "dropout2d", "dropout3d")
)
_TRAINING_POSITION = 2  # dropout(input, p=0.5, training=True, inplace=False)
# Lightning calls `training_step` only in train mode: a dropout there drops exactly when it should.
_TRAIN_ONLY_HOOKS = frozenset({"training_step"})

_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(3)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(16, 64)
        self.out = nn.Linear(64, 4)

    def forward(self, x):
        h = F.relu(self.hidden(x))
        h = F.dropout(h, 0.5)
        return self.out(h)


model = Classifier().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
x = torch.randn(128, 16, generator=g).to(device)
y = (x @ torch.randn(16, 4, generator=g).to(device)).argmax(dim=1)
x_val = torch.randn(32, 16, generator=g).to(device)
for step in range(10):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    # Evaluation in eval() mode: dropout must be off, so two passes over the same batch agree.
    model.eval()
    with torch.no_grad():
        first, second = model(x_val), model(x_val)
    agree = bool(torch.equal(first, second))
"""


class FunctionalDropoutInEval(Rule):
    """
    ## What it does
    Finds `F.dropout(x, p)` (also `dropout1d`, `dropout2d`, `dropout3d`, through any import spelling) called in
    a method of an `nn.Module` subclass without a `training` argument.

    ## Why is this bad?
    The functional dropouts take `training` as an argument, and it defaults to `True`: unlike `nn.Dropout`, they
    do not read the module's mode. After `model.eval()` such a call still zeroes about a fraction `p` of the
    activations and scales the rest by `1 / (1 - p)` (autograd fact "F.dropout without training=self.training
    still drops in eval() mode"). Validation scores are noisy and pessimistic, predictions change from one call
    to the next, and an exported model keeps dropping at inference.

    ## Example
    ```python
    class Block(nn.Module):
        def forward(self, x):
            return F.dropout(self.fc(x), 0.1)
    ```

    ## Use instead
    ```python
    class Block(nn.Module):
        def forward(self, x):
            return F.dropout(self.fc(x), 0.1, training=self.training)
    ```
    (or an `nn.Dropout(0.1)` submodule, which follows `train()`/`eval()` by itself).

    ## Runtime
    Silent: in eval() mode the outputs are random and differ from call to call.

    ## Fix safety
    Safe and repairing: the fix adds `training=self.training` (with the method's own name for `self`). In
    training mode `self.training` is True, the default the call had, so training is unchanged bit for bit; in
    eval mode dropout is now off, which is what eval() means. Only calls in methods of classes the semantic model
    knows are `nn.Module` subclasses are reported (static and class methods, and functions outside a module,
    have no `self.training` and pass their own flag), and not in a Lightning `training_step` (which runs in train
    mode only) or under an `if` that tests `self.training`. A call that passes `training` in any form (keyword,
    third positional argument, `**kwargs`) is left alone: `training=True` on purpose is Monte Carlo dropout.
    `F.alpha_dropout` and `F.feature_alpha_dropout` default to `training=False` and are not reported here.

    ## Effect
    Repairing: eval-mode outputs become deterministic; training-mode outputs are identical.
    """

    code = "GF605"
    name = "functional-dropout-in-eval"
    message = "F.dropout() without training=: it defaults to True and still drops after model.eval()"
    runtime = "silent: dropout stays on in eval() mode; eval outputs are random"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"dropout")  # every spelling, an alias import included, names it somewhere

    examples = (
        Invalid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Block(nn.Module):\n"
            "    def forward(self, x):\n        return F.dropout(self.fc(x), 0.1)\n",
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Block(nn.Module):\n"
            "    def forward(self, x):\n        return F.dropout(self.fc(x), 0.1, training=self.training)\n",
            "F.dropout in forward",
        ),
        Invalid(
            "from torch import nn\nfrom torch.nn.functional import dropout2d as drop\n\n\nclass Net(nn.Module):\n"
            "    def forward(this, x):\n        return drop(x, p=0.2, inplace=False)\n",
            "from torch import nn\nfrom torch.nn.functional import dropout2d as drop\n\n\nclass Net(nn.Module):\n"
            "    def forward(this, x):\n        return drop(x, p=0.2, inplace=False, training=this.training)\n",
            "dropout2d through an alias, in a method whose first parameter is not called self",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass Attention(nn.Module):\n"
            "    def _weights(self, q, k):\n        w = torch.softmax(q @ k.transpose(-1, -2), dim=-1)\n"
            "        return torch.nn.functional.dropout(\n            w,\n            self.p,\n        )\n",
            "import torch\nimport torch.nn as nn\n\n\nclass Attention(nn.Module):\n"
            "    def _weights(self, q, k):\n        w = torch.softmax(q @ k.transpose(-1, -2), dim=-1)\n"
            "        return torch.nn.functional.dropout(\n            w,\n            self.p,\n"
            "            training=self.training,\n        )\n",
            "a helper method of a module, the call split over lines with a trailing comma",
        ),
        Invalid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Base(nn.Module):\n    pass\n\n\n"
            "class Head(Base):\n    def forward(self, x):\n        return F.dropout(x)\n",
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Base(nn.Module):\n    pass\n\n\n"
            "class Head(Base):\n    def forward(self, x):\n        return F.dropout(x, training=self.training)\n",
            "a module through a base class of this file, p left at its default",
        ),
        Valid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Block(nn.Module):\n"
            "    def forward(self, x):\n        return F.dropout(x, 0.1, training=self.training)\n",
            "training=self.training",
        ),
        Valid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Block(nn.Module):\n"
            "    def forward(self, x):\n        return F.dropout(x, self.p, self.training)\n",
            "training passed positionally",
        ),
        Valid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Propagate(nn.Module):\n"
            "    def forward(self, x, w):\n        if self.p > 0 and self.training:\n"
            "            w = F.dropout(w, p=self.p)\n        return x * w\n",
            "only reached when self.training is True: the author tested the mode",
        ),
        Valid(
            "import torch.nn as nn\n\n\nclass Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.drop = nn.Dropout(0.1)\n\n    def forward(self, x):\n        return self.drop(x)\n",
            "an nn.Dropout module follows train()/eval() itself",
        ),
        Valid(
            "import torch.nn.functional as F\n\n\ndef mlp(x, w1, w2, training):\n"
            "    return F.dropout(x @ w1, 0.5, training=training) @ w2\n",
            "a plain function outside a module, passing its own flag",
        ),
        Valid(
            "import torch.nn.functional as F\n\n\ndef augment(x):\n    return F.dropout(x, 0.1)\n",
            "a plain function outside a module: no self.training to pass; dropping may be the point",
        ),
        Valid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Bayesian(nn.Module):\n"
            "    def forward(self, x):\n        return F.dropout(x, 0.2, training=True)\n",
            "Monte Carlo dropout: training=True on purpose",
        ),
        Valid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Block(nn.Module):\n"
            "    def forward(self, x, **options):\n        return F.dropout(x, **options)\n",
            "**kwargs may carry training",
        ),
        Valid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Block(nn.Module):\n"
            "    @staticmethod\n    def noise(x):\n        return F.dropout(x, 0.1)\n",
            "a static method has no self.training",
        ),
        Valid(
            "import lightning as L\nimport torch.nn.functional as F\n\n\nclass Lit(L.LightningModule):\n"
            "    def training_step(self, batch, idx):\n        x, y = batch\n"
            "        return F.cross_entropy(self.head(F.dropout(self.body(x), 0.1)), y)\n",
            "a Lightning training_step runs in train mode only",
        ),
        Valid(
            "import torch.nn.functional as F\n\n\nclass Augmenter:\n    def __call__(self, x):\n"
            "        return F.dropout(x, 0.1)\n",
            "a class that is not an nn.Module: it has no training flag",
        ),
        Valid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Block(nn.Module):\n"
            "    def forward(self, x):\n        return F.alpha_dropout(x, 0.1)\n",
            "alpha_dropout defaults to training=False (it never drops without the flag; not this rule's bug)",
        ),
        Valid(
            "import torch.nn as nn\n\n\nclass Block(nn.Module):\n    def forward(self, x):\n"
            "        return self.dropout(x, 0.1)\n",
            "a method of the module's own called dropout, not torch's",
        ),
        Valid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Attention(nn.Module):\n"
            "    def forward(self, x):\n        dropout_p = 0.0 if not self.training else self.p\n"
            "        if dropout_p > 0.0:\n            x = F.dropout(x, dropout_p)\n        return x\n",
            "the test is evaluated, not matched: in eval() `dropout_p` is 0.0, so the branch runs only in training",
        ),
        Invalid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Attention(nn.Module):\n"
            "    def forward(self, x):\n        dropout_p = 0.0 if self.frozen else self.p\n"
            "        if dropout_p > 0.0:\n            x = F.dropout(x, dropout_p)\n        return x\n",
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Attention(nn.Module):\n"
            "    def forward(self, x):\n        dropout_p = 0.0 if self.frozen else self.p\n"
            "        if dropout_p > 0.0:\n            x = F.dropout(x, dropout_p, training=self.training)\n        return x\n",
            "the same shape with a test that does not depend on the mode: it still drops in eval()",
        ),
        Invalid(
            "class Head(nn.Module):\n    def forward(self, x):\n        return F.dropout(self.fc(x), 0.1)\n",
            "class Head(nn.Module):\n    def forward(self, x):\n        return F.dropout(self.fc(x), 0.1, training=self.training)\n",
            "a fragment without its imports: unbound `nn` and `F` mean what the ecosystem means by them",
        ),
        Valid(
            "import torch.nn as nn\n\n\nclass Head(nn.Module):\n    def forward(self, x, F):\n"
            "        return F.dropout(self.fc(x), 0.1)\n",
            "a name the file binds wins over the convention: this `F` is a parameter, not torch.nn.functional",
        ),
    )

    scenarios = (Scenario("mlp-functional-dropout-evaluated", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        for call in model.nodes(ast.Call):
            if model.qualified_name(call.func) not in DROPS_BY_DEFAULT or _passes_training(call):
                continue
            owner = _module_self(model, call)
            if owner is None or _under_training_test(model, call, owner) or model.training_mode(call) is True:
                continue
            name = model.source(call.func)
            self.report(
                call,
                f"`{name}()` without `training=`: it defaults to True and still drops after model.eval(); "
                f"pass `training={owner}.training`",
                fix=Applicability.SAFE,
                data=owner,
            )

    def fix(self, finding, tree) -> Fix | None:
        node = tree.node_at(finding.range, cst.Call)
        if node is None or not node.args:
            return None
        flag = cst.Arg(
            value=cst.Attribute(cst.Name(finding.data), cst.Name("training")),
            keyword=cst.Name("training"),
            equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
        )
        args = list(node.args)
        last = args[-1]
        if isinstance(last.comma, cst.Comma):
            # A trailing comma (a call split over lines): the new argument takes it, and the previous last argument
            # gets the separator its neighbours use, so the layout stays one argument per line.
            separator = args[-2].comma if len(args) > 1 and isinstance(args[-2].comma, cst.Comma) else last.comma
            args[-1] = last.with_changes(comma=separator)
            flag = flag.with_changes(comma=last.comma)
        else:
            args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        return Fix((Edit(node, node.with_changes(args=[*args, flag])),), Applicability.SAFE, Effect.REPAIRING)


def _passes_training(call: ast.Call) -> bool:
    """The call says what `training` is: by keyword, as the third positional argument, or possibly through
    `*args`/`**kwargs`."""
    if any(isinstance(a, ast.Starred) for a in call.args) or len(call.args) > _TRAINING_POSITION:
        return True
    return any(k.arg is None or k.arg == "training" for k in call.keywords)


def _under_training_test(model: SemanticModel, call: ast.Call, owner: str) -> bool:
    """The call sits under an `if` (or a conditional expression) whose test reads `self.training`
    (`if self.p > 0 and self.training:`): the author already made it follow the module's mode."""
    for ancestor in model.ancestors(call):
        if isinstance(ancestor, FUNCTIONS):
            return False
        if isinstance(ancestor, (ast.If, ast.IfExp, ast.While)) and any(
            isinstance(n, ast.Attribute) and n.attr == "training" and isinstance(n.value, ast.Name)
            and n.value.id == owner for n in ast.walk(ancestor.test)
        ):
            return True
    return False


def _module_self(model: SemanticModel, call: ast.Call) -> str | None:
    """The name of `self` when `call` sits directly in an instance method of an nn.Module subclass of this file
    (and that name is never rebound there); else None."""
    function = model.function(call)
    if not isinstance(function, FUNCTIONS):
        return None
    if any(isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod") for d in function.decorator_list):
        return None
    if function.name in _TRAIN_ONLY_HOOKS:
        return None
    cls = model.enclosing_class(function)
    if cls is None or not model.is_module_class_def(cls):
        return None
    positional = function.args.posonlyargs + function.args.args
    if not positional:
        return None
    name = positional[0].arg
    bindings = model.bindings_reaching(name, call)
    if not bindings or any(b.kind != "param" for b in bindings):
        return None
    return name
