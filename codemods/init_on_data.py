"""GF102: `nn.init.*_(x.data)`: the initialiser already writes under `torch.no_grad()`."""
from __future__ import annotations

import re

import libcst as cst

from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from codemods._torch import Imports, looks_like_parameter, scope_chain


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
    Only `.data` on names that mean a tensor (`weight`, `bias`, `p`, `*_weight`, ...) is rewritten.
    """

    code = "GF102"
    name = "init-on-data"
    message = "`nn.init` already runs under `torch.no_grad()`: pass the parameter, not `.data`"
    runtime = "silent: harmless, the initialiser writes the same values"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.PRESERVING
    prefilter = re.compile(r"init\.\w+_\s*\([^)]*\.data\b")

    examples = (
        Invalid(
            "import torch.nn as nn\nnn.init.xavier_uniform_(m.weight.data)\n",
            "import torch.nn as nn\nnn.init.xavier_uniform_(m.weight)\n",
            "the common module-init shape",
        ),
        Invalid(
            "from torch.nn import init\ninit.normal_(self.bias.data, std=0.02)\n",
            "from torch.nn import init\ninit.normal_(self.bias, std=0.02)\n",
            "`init` imported from torch.nn",
        ),
        Invalid(
            "import torch\ntorch.nn.init.kaiming_normal_(tensor=self.conv_weight.data, mode='fan_out')\n",
            "import torch\ntorch.nn.init.kaiming_normal_(tensor=self.conv_weight, mode='fan_out')\n",
            "the tensor passed by keyword",
        ),
        Valid("import torch.nn as nn\nnn.init.zeros_(p)\n", "already passes the parameter"),
        Valid("import mylib.init as init\ninit.normal_(m.weight.data)\n", "not torch.nn.init"),
        Valid("import torch.nn as nn\nnn.init.normal_(dataset.data)\n", "`.data` of something that is not a tensor"),
    )

    scenarios = (Scenario("cnn-init-with-adam", _SCENARIO),)

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node

    def visit_Call(self, node: cst.Call) -> None:
        if not (isinstance(node.func, cst.Attribute) and node.func.attr.value.endswith("_")):
            return
        tensor = next((a for a in node.args if a.keyword is None or a.keyword.value == "tensor"), None)
        if tensor is None or tensor.star:
            return
        value = tensor.value
        if not (isinstance(value, cst.Attribute) and value.attr.value == "data"):
            return
        if not looks_like_parameter(value.value, node, self.parent):
            return
        qualified = Imports.of(self._module, self.context.cache).resolve(node.func, scope_chain(node, self.parent)) or ""
        if not qualified.startswith("torch.nn.init."):
            return
        fix = Fix(edits=(Edit(value, value.value),), applicability=Applicability.SAFE, effect=Effect.PRESERVING)
        self.report(node, fix=fix)
