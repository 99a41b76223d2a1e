"""GF102: `nn.init.*_(x.data)`: the initialiser already writes under `torch.no_grad()`."""
from __future__ import annotations

import ast

from autofix.lazy import libcst as cst
from autofix.rule import AllOf, Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import SemanticModel
from codemods._aliases import tensor_alias


_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 8 * 8, 10)
        nn.init.kaiming_normal_(self.conv.weight.data, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(self.conv.bias.data)
        nn.init.xavier_uniform_(self.fc.weight.data)

    def forward(self, x):
        return self.fc(F.relu(self.conv(x)).flatten(1))


model = ConvNet().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
x = torch.randn(16, 3, 8, 8, generator=g).to(device)
y = torch.randint(0, 10, (16,), generator=g).to(device)
for step in range(10):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
"""

class InitOnData(Rule):
    """
    ## What it does
    Finds `torch.nn.init` initialisers applied to `.data`: `nn.init.xavier_uniform_(m.weight.data)`,
    `init.zeros_(self.bias.data)`.

    ## Why is this bad?
    Every in-place initialiser in `torch.nn.init` already runs under `torch.no_grad()`, so `.data` adds
    nothing but the legacy alias that hides the write from autograd's version counter (autograd fact
    ".data writes bypass the version counter"). Checked on torch 2.13: each of `constant_`, `eye_`,
    `kaiming_*_`, `normal_`, `ones_`, `orthogonal_`, `sparse_`, `trunc_normal_`, `uniform_`,
    `xavier_*_` and `zeros_` gives bit-identical values, and a leaf parameter, with and without `.data`.

    ## Example
    ```python
    nn.init.xavier_uniform_(m.weight.data)
    ```

    ## Use instead
    ```python
    nn.init.xavier_uniform_(m.weight)
    ```

    ## Runtime
    Silent and harmless today: the parameter is initialised either way.

    ## Fix safety
    Safe and behaviour-preserving: the same initialiser writes the same values under `no_grad`.
    Only `X.data` where the semantic model shows X is a tensor (a parameter of a known `nn` layer, an
    `nn.Parameter`, a loop variable over `parameters()`, an argument annotated `Tensor`, ...) is rewritten:
    the initialiser proves that `X.data` is a tensor, not that X is (`nn.init.normal_(dataset.data)`).
    """

    code = "GF102"
    name = "init-on-data"
    message = "`nn.init` already runs under `torch.no_grad()`: pass the parameter, not `.data`"
    runtime = "silent: harmless, the initialiser writes the same values"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.PRESERVING
    # Both words somewhere in the file (`torch.nn.init` cannot be named without "init"); two linear scans.
    prefilter = AllOf(r"\.data\b", r"\binit\b")

    examples = (
        Invalid(
            "import torch.nn as nn\n\ndef init(m):\n    if isinstance(m, (nn.Linear, nn.Conv2d)):\n"
            "        nn.init.xavier_uniform_(m.weight.data)\n",
            "import torch.nn as nn\n\ndef init(m):\n    if isinstance(m, (nn.Linear, nn.Conv2d)):\n"
            "        nn.init.xavier_uniform_(m.weight)\n",
            "the common module-init shape",
        ),
        Invalid(
            "import torch\nfrom torch.nn import init\n\n\nclass Head(torch.nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.bias = torch.nn.Parameter(torch.empty(4))\n"
            "        init.normal_(self.bias.data, std=0.02)\n",
            "import torch\nfrom torch.nn import init\n\n\nclass Head(torch.nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.bias = torch.nn.Parameter(torch.empty(4))\n"
            "        init.normal_(self.bias, std=0.02)\n",
            "`init` imported from torch.nn",
        ),
        Invalid(
            "import torch\nconv_weight = torch.nn.Parameter(torch.empty(8, 3, 3, 3))\n"
            "torch.nn.init.kaiming_normal_(tensor=conv_weight.data, mode='fan_out')\n",
            "import torch\nconv_weight = torch.nn.Parameter(torch.empty(8, 3, 3, 3))\n"
            "torch.nn.init.kaiming_normal_(tensor=conv_weight, mode='fan_out')\n",
            "the tensor passed by keyword",
        ),
        Valid("import torch.nn as nn\nnn.init.zeros_(p)\n", "already passes the parameter"),
        Valid("import mylib.init as init\ninit.normal_(m.weight.data)\n", "not torch.nn.init"),
        Valid("import torch.nn as nn\nnn.init.normal_(dataset.data)\n", "`.data` of something that is not a tensor"),
        Invalid(
            "from torch.nn.init import zeros_\nimport torch.nn as nn\n\nlin = nn.Linear(2, 2)\nzeros_(lin.bias.data)\n",
            "from torch.nn.init import zeros_\nimport torch.nn as nn\n\nlin = nn.Linear(2, 2)\nzeros_(lin.bias)\n",
            "an initialiser imported by name",
        ),
        Valid(
            "import torch.nn as nn\n\ndef init(m):\n    nn.init.xavier_uniform_(m.weight.data)\n",
            "`m` is unannotated and untested: the model cannot tell that `m.weight` is a tensor",
        ),
        Valid(
            "from torch_geometric.data import Data\nimport torch.nn as nn\n\ndef noise(data: Data):\n"
            "    nn.init.normal_(data.data)\n",
            "a PyG Data object, as its annotation says: not a tensor",
        ),
        Invalid(
            "import torch.nn as nn\n\nemb = nn.Embedding(10, 4)\nnn.init.zeros_(emb.weight.data[0])\n",
            "import torch.nn as nn\n\nemb = nn.Embedding(10, 4)\nnn.init.zeros_(emb.weight[0])\n",
            "a row of `.data` (the padding row): nn.init writes the row of the parameter under no_grad the same way",
        ),
        Invalid(
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'class Attention(nn.MultiheadAttention):\n'
            '    def _reset_parameters(self):\n'
            '        nn.init.xavier_uniform_(self.in_proj_weight.data)\n',
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'class Attention(nn.MultiheadAttention):\n'
            '    def _reset_parameters(self):\n'
            '        nn.init.xavier_uniform_(self.in_proj_weight)\n',
            "torch table: `in_proj_weight` is one of nn.MultiheadAttention's parameter slots, inherited here",
        ),
    )

    scenarios = (Scenario("cnn-init-with-adam", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        for attribute in model.nodes(ast.Attribute):
            if attribute.attr != "data" or not isinstance(attribute.ctx, ast.Load):
                continue
            argument = attribute
            while isinstance(model.parent(argument), ast.Subscript) and model.parent(argument).value is argument:
                argument = model.parent(argument)  # `init.zeros_(w.data[i])`: a row of the tensor, the same way
            call = _initialiser_call(model, argument)
            if call is None or tensor_alias(model, attribute) is None:
                continue  # not `nn.init.*_(X.data)`, or X is not a tensor the model can see
            self.report(call, fix=Applicability.SAFE, data=model.range(attribute))

    def fix(self, finding, tree) -> Fix | None:
        alias = tree.node_at(finding.data, cst.Attribute)
        if alias is None:
            return None
        return Fix((Edit(alias, alias.value),), Applicability.SAFE, Effect.PRESERVING)


def _initialiser_call(model: SemanticModel, argument: ast.AST) -> ast.Call | None:
    """The `torch.nn.init.<name>_(...)` call that gets `argument` as its tensor (first positional, or `tensor=`)."""
    parent = model.parent(argument)
    if isinstance(parent, ast.keyword):
        call = model.parent(parent)
        if parent.arg != "tensor" or call.args:
            return None
    elif isinstance(parent, ast.Call) and parent.args and parent.args[0] is argument:
        call = parent
    else:
        return None
    qualified = model.qualified_name(call.func) or ""
    return call if qualified.startswith("torch.nn.init.") and qualified.endswith("_") else None
