"""GF504: a Parameter or a layer with weights constructed inside `forward`: fresh weights on every call."""
from __future__ import annotations

import ast
import re

from autofix.rule import Applicability, Invalid, Rule, Valid
from autofix.semantic import SemanticModel, is_true, keyword
from codemods._gf5 import PARAMETER_CLASSES

# torch.nn layers that own parameters by default (activations, dropout, pooling own none and are harmless
# to build per call; InstanceNorm is affine=False by default).
_LAYERS = (
    r"(Linear|Bilinear|Conv[123]d|ConvTranspose[123]d|Embedding|EmbeddingBag|RNN|LSTM|GRU|RNNCell|LSTMCell"
    r"|GRUCell|BatchNorm[123]d|LayerNorm|GroupNorm|RMSNorm|MultiheadAttention|Transformer\w*|PReLU)"
)
_LAYERS_WITH_WEIGHTS = re.compile(rf"^torch\.nn\.{_LAYERS}$")
# The same names unqualified: what a call's spelling must end with before the rule resolves it.
_LAYER_NAMES = re.compile(rf"^{_LAYERS}$")


class ParameterInForward(Rule):
    """
    ## What it does
    Finds `nn.Parameter(...)`, or a layer that owns weights (`nn.Linear`, `nn.Conv2d`, `nn.LayerNorm`,
    `nn.Embedding`, ...), constructed inside a module's `forward`.

    ## Why is this bad?
    `forward` runs on every call, so the weights are drawn afresh every step. The optimizer was built
    from `model.parameters()` before the first call and never sees them; whatever a step learns is thrown
    away on the next call. The output is computed through random, untrained weights. Checked on torch
    2.13: a `self.b = nn.Linear(...)` made in forward registers itself in the module (so
    `parameters()` grows after the first call), but the optimizer built before holds none of it.

    ## Example
    ```python
    def forward(self, x):
        proj = nn.Linear(x.shape[-1], self.dim)
        return proj(x)
    ```

    ## Use instead
    ```python
    def __init__(self, in_dim, dim):
        super().__init__()
        self.proj = nn.Linear(in_dim, dim)

    def forward(self, x):
        return self.proj(x)
    ```

    ## Runtime
    Silent: no error, the loss just does not fall as it should.

    ## Fix safety
    No fix: the layer's shape often depends on the input, so where it belongs (`__init__`, a lazy module
    such as `nn.LazyLinear`) is a design decision. Lazy initialisation inside an `if` (`if self.w is None:`)
    and parameters made with `requires_grad=False` are not reported.
    """

    code = "GF504"
    name = "parameter-in-forward"
    message = "a layer or Parameter constructed in forward: its weights are re-drawn each call and never optimized"
    runtime = "silent: the weights are re-initialised every call and never trained"
    fix_applicability = Applicability.NONE
    fix_effect = None
    prefilter = re.compile(r"def forward\b")

    examples = (
        Invalid(
            "import torch.nn as nn\nclass M(nn.Module):\n    def forward(self, x):\n"
            "        proj = nn.Linear(x.shape[-1], 8)\n        return proj(x)\n",
            reason="a layer built per call",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\nclass M(nn.Module):\n    def forward(self, x):\n"
            "        self.scale = nn.Parameter(torch.ones(x.shape[-1]))\n        return x * self.scale\n",
            reason="a parameter made per call",
        ),
        Valid(
            "import torch.nn as nn\nclass M(nn.Module):\n    def forward(self, x):\n"
            "        return nn.ReLU()(nn.Dropout(0.1)(x))\n",
            "layers without weights",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\nclass M(nn.Module):\n    def forward(self, x):\n"
            "        if self.proj is None:\n            self.proj = nn.Linear(x.shape[-1], 8)\n        return self.proj(x)\n",
            "lazy initialisation on the first call",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\nclass M(nn.Module):\n    def forward(self, x):\n"
            "        mask = nn.Parameter(torch.ones(3), requires_grad=False)\n        return x * mask\n",
            "not meant to be trained",
        ),
        Valid(
            "import torch.nn as nn\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.proj = nn.Linear(4, 8)\n",
            "built in __init__",
        ),
        Valid(
            "import torch.nn as nn\nclass M(nn.Module):\n    def forward(self, x):\n"
            "        def make():\n            return nn.Linear(4, 8)\n        return x\n",
            "in a nested helper, not run by forward itself",
        ),
        Invalid(
            "import torch\nclass M(torch.nn.Module):\n    def forward(self, x):\n"
            "        for _ in range(2):\n            x = torch.nn.Conv2d(3, 3, 1)(x)\n        return x\n",
            reason="torch.nn written out in full, in a loop",
        ),
        Valid(
            "from mylayers import Linear\nclass M:\n    def forward(self, x):\n        return Linear(4, 8)(x)\n",
            "not torch's Linear",
        ),
    )

    def check(self, model: SemanticModel) -> None:
        for call in model.nodes(ast.Call):
            # A cheap look at the spelling first: only calls named like a Parameter or a weighted layer are
            # resolved, and only those directly in a method called `forward`.
            func = call.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name != "Parameter" and not _LAYER_NAMES.match(name):
                continue
            function = model.function(call)
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) or function.name != "forward":
                continue
            if model.enclosing_class(function) is None or model.is_autograd_function_method(function):
                continue
            qualified = model.qualified_name(func) or ""
            if qualified in PARAMETER_CLASSES:
                requires_grad = keyword(call, "requires_grad")
                if requires_grad is not None and not is_true(requires_grad):
                    continue  # a constant, not meant to be trained
            elif not _LAYERS_WITH_WEIGHTS.match(qualified):
                continue
            if _conditional(model, call, function):
                continue
            self.report(
                call,
                f"`{qualified.replace('torch.nn.', 'nn.')}` is constructed on every forward call: its weights are "
                "re-drawn each step and never optimized",
            )


def _conditional(model: SemanticModel, node: ast.AST, function: ast.AST) -> bool:
    """Inside an `if` or `try` in forward: one-off lazy initialisation, not a per-call rebuild."""
    for ancestor in model.ancestors(node):
        if ancestor is function:
            return False
        if isinstance(ancestor, (ast.If, ast.IfExp, ast.Try)) or (
            hasattr(ast, "TryStar") and isinstance(ancestor, ast.TryStar)
        ):
            return True
    return False
