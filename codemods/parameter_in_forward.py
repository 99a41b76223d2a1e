"""GF504: a Parameter or a layer with weights constructed inside `forward`: fresh weights on every call."""
from __future__ import annotations

import re

import libcst as cst

from autofix.rule import Applicability, Invalid, Rule, Valid
from codemods._torch import PARAMETER_CLASS, Imports, requests_grad, scope_chain

# torch.nn layers that own parameters by default (activations, dropout, pooling own none and are harmless
# to build per call; InstanceNorm is affine=False by default).
_LAYERS_WITH_WEIGHTS = re.compile(
    r"^torch\.nn\.(Linear|Bilinear|Conv[123]d|ConvTranspose[123]d|Embedding|EmbeddingBag|RNN|LSTM|GRU|RNNCell|LSTMCell"
    r"|GRUCell|BatchNorm[123]d|LayerNorm|GroupNorm|RMSNorm|MultiheadAttention|Transformer\w*|PReLU)$"
)


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
    )

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node

    def visit_Call(self, node: cst.Call) -> None:
        chain = scope_chain(node, self.parent)
        function = chain[0]
        if not (isinstance(function, cst.FunctionDef) and function.name.value == "forward"
                and len(chain) > 1 and isinstance(chain[1], cst.ClassDef)):
            return
        qualified = Imports.of(self._module, self.context.cache).resolve(node.func, chain) or ""
        if PARAMETER_CLASS.match(qualified):
            if any(a.keyword is not None and a.keyword.value == "requires_grad" for a in node.args) and not requests_grad(node):
                return
        elif not _LAYERS_WITH_WEIGHTS.match(qualified):
            return
        if self._conditional(node):
            return
        self.report(node, f"`{qualified.replace('torch.nn.', 'nn.')}` is constructed on every forward call: its weights are re-drawn each step and never optimized")

    def _conditional(self, node: cst.CSTNode) -> bool:
        """Inside an `if` or `try` in forward: one-off lazy initialisation, not a per-call rebuild."""
        current = self.parent(node)
        while current is not None and not isinstance(current, cst.FunctionDef):
            if isinstance(current, (cst.If, cst.IfExp, cst.Try)):
                return True
            current = self.parent(current)
        return False
