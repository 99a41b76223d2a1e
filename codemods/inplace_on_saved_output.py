"""GF303: in-place write to the output of an op that autograd saved (ReLU, Sigmoid, Tanh, Softmax, exp)."""
from __future__ import annotations

import re

import libcst as cst

from autofix.rule import Applicability, Effect, Invalid, Rule, Scenario, Valid
from codemods._inplace import binds, out_of_place_fix, statements_in_order, writes_in
from codemods._torch import Imports, dotted, scope_chain, under_no_grad

# Ops whose backward reads their own output (checked on torch 2.13: an in-place write to the output makes
# backward() raise). GELU, SiLU, LeakyReLU and ELU read their input instead, so they are not listed.
SAVES_OUTPUT = ("relu", "sigmoid", "tanh", "softmax", "exp")
_FUNCTIONS = {f"torch.{n}" for n in SAVES_OUTPUT} | {f"torch.nn.functional.{n}" for n in SAVES_OUTPUT} | {
    "torch.special.expit", "torch.nn.functional.relu_"
}
_MODULES = {"torch.nn.ReLU": "ReLU", "torch.nn.Sigmoid": "Sigmoid", "torch.nn.Tanh": "Tanh", "torch.nn.Softmax": "Softmax"}


_SCENARIO = """\\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)


class ResidualBlock(nn.Module):
    def __init__(self, channels=4):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)  # BatchNorm cancels a bias
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.head = nn.Linear(channels * 6 * 6, 1)

    def forward(self, x):
        identity = x
        out = self.relu(self.bn(self.conv(x)))
        out += identity
        return self.head(out.flatten(1))


model = ResidualBlock().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.randn(8, 4, 6, 6, generator=g).to(device)
y = x.mean(dim=(1, 2, 3)).unsqueeze(1)
for step in range(10):
    optimizer.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
"""


class InplaceOnSavedOutput(Rule):
    """
    ## What it does
    Finds an in-place write (`out += identity`, `out.mul_(s)`, `out[m] = 0`) to the result of an op that
    saves its output for backward: `relu`, `sigmoid`, `tanh`, `softmax`, `exp` as `torch.*` / `F.*`
    functions, as tensor methods, or as `nn.ReLU` / `nn.Sigmoid` / `nn.Tanh` / `nn.Softmax` modules assigned
    in the class (`self.relu = nn.ReLU(inplace=True)`).

    ## Why is this bad?
    These ops compute their gradient from their output. Overwriting it makes `backward()` raise "one of the
    variables needed for gradient computation has been modified by an inplace operation" (autograd fact
    "x = relu(x); x += identity raises at backward"). GELU, SiLU, LeakyReLU and ELU save their input, so
    the same text is safe with them (fact "the same residual after SiLU is fine"). torchvision's
    BasicBlock is safe: it adds the identity to the BatchNorm output, then applies ReLU.

    ## Example
    ```python
    out = self.relu(self.bn(self.conv(x)))
    out += identity
    ```

    ## Use instead
    ```python
    out = self.relu(self.bn(self.conv(x)))
    out = out + identity
    ```

    ## Runtime
    Raises at `backward()`: "one of the variables needed for gradient computation has been modified by an
    inplace operation".

    ## Fix safety
    Safe and repairing: the write becomes out of place (or `out = out.clone()` goes before an indexed
    write). It costs one allocation the size of `out`. `nn.ReLU(inplace=True)` itself is not reported.
    """

    code = "GF303"
    name = "inplace-on-saved-output"
    message = "In-place write to the output of an op that saved it for backward()"
    runtime = 'raises at backward(): "one of the variables needed for gradient computation has been modified"'
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(
        # an activation call and an in-place write somewhere in the file (two anchored lookaheads: linear time)
        r"\A(?=[\s\S]*(?:relu|sigmoid|tanh|softmax|exp|ReLU|Sigmoid|Tanh|Softmax)\s*\()(?=[\s\S]*(?:[-+*/]=|\.\w+_\(|\]\s*=[^=]))"
    )

    examples = (
        Invalid(
            "import torch.nn as nn\n\nclass Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.relu = nn.ReLU(inplace=True)\n\n    def forward(self, x):\n        identity = x\n"
            "        out = self.relu(self.bn(self.conv(x)))\n        out += identity\n        return out\n",
            "import torch.nn as nn\n\nclass Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.relu = nn.ReLU(inplace=True)\n\n    def forward(self, x):\n        identity = x\n"
            "        out = self.relu(self.bn(self.conv(x)))\n        out = out + identity\n        return out\n",
            "a residual added after the ReLU module",
        ),
        Invalid(
            "import torch\n\ndef gate(h, g):\n    s = torch.sigmoid(g)\n    s.mul_(h)\n    return s\n",
            "import torch\n\ndef gate(h, g):\n    s = torch.sigmoid(g)\n    s = s.mul(h)\n    return s\n",
            "torch.sigmoid, then an in-place method",
        ),
        Invalid(
            "import torch.nn.functional as F\n\ndef attend(scores, mask):\n    p = F.softmax(scores, dim=-1)\n"
            "    p[mask] = 0\n    return p\n",
            "import torch.nn.functional as F\n\ndef attend(scores, mask):\n    p = F.softmax(scores, dim=-1)\n"
            "    p = p.clone()\n    p[mask] = 0\n    return p\n",
            "an indexed write to softmax probabilities",
        ),
        Valid(
            "def forward(self, x):\n    identity = x\n    out = self.bn2(self.conv2(x))\n    out += identity\n"
            "    out = self.relu(out)\n    return out\n",
            "torchvision's BasicBlock: the add comes before the ReLU",
        ),
        Valid(
            "import torch.nn as nn\n\nclass BasicBlock(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.relu = nn.ReLU(inplace=True)\n\n    def forward(self, x):\n        identity = x\n"
            "        out = self.bn1(self.conv1(x))\n        out = self.relu(out)\n        out = self.bn2(self.conv2(out))\n"
            "        out += identity\n        out = self.relu(out)\n        return out\n",
            "nn.ReLU(inplace=True) used as torchvision does: the residual lands on the BatchNorm output",
        ),
        Valid("import torch.nn.functional as F\n\ndef f(x, r):\n    out = F.silu(x)\n    out += r\n    out = F.gelu(out)\n"
              "    out += r\n    return out\n", "SiLU and GELU save their input"),
        Valid("import torch\n\ndef f(x):\n    with torch.no_grad():\n        y = torch.relu(x)\n        y += 1\n    return y\n",
              "under torch.no_grad()"),
    )
    scenarios = (Scenario("residual-block-add-after-relu", _SCENARIO),)

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._activations: dict[str, str] | None = None
        self._check(node.body, node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if isinstance(node.body, cst.IndentedBlock):
            self._check(node.body.body, node)

    def _check(self, body, scope) -> None:
        saved: dict[str, str] = {}
        for statement in statements_in_order(body):
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    write = writes_in(small)
                    if write is not None and write.name in saved and not under_no_grad(statement, self.parent):
                        self._report(statement, write, saved.pop(write.name))
                assigned = self._saving_assignment(statement, scope)
                for name in binds(statement):
                    saved.pop(name, None)
                if assigned:
                    saved[assigned[0]] = assigned[1]
            else:
                for name in binds(statement):
                    saved.pop(name, None)

    def _saving_assignment(self, statement, scope) -> tuple[str, str] | None:
        """`out = relu(...)` -> ("out", "relu")."""
        if len(statement.body) != 1 or not isinstance(statement.body[0], cst.Assign):
            return None
        assign = statement.body[0]
        if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
            return None
        op = self._saving_op(assign.value, scope)
        return (assign.targets[0].target.value, op) if op else None

    def _saving_op(self, value, scope) -> str | None:
        if not isinstance(value, cst.Call):
            return None
        func = value.func
        if isinstance(func, cst.Attribute) and func.attr.value in SAVES_OUTPUT:
            qualified = self._index().resolve(func, scope_chain(value, self.parent))
            if qualified is None or qualified in _FUNCTIONS:  # x.relu() (a tensor method) or torch.relu
                return func.attr.value
            return None
        qualified = self._index().resolve(func, scope_chain(value, self.parent))
        if qualified in _FUNCTIONS:
            return qualified.rsplit(".", 1)[-1]
        name = dotted(func)
        if name and name in self._module_activations():
            return self._module_activations()[name]
        return None

    def _index(self) -> Imports:
        return Imports.of(self._module, self.context.cache)

    def _module_activations(self) -> dict[str, str]:
        """`self.relu = nn.ReLU(...)` / `act = nn.Tanh()` anywhere in the file: name -> module kind."""
        if self._activations is None:
            found: dict[str, str] = {}
            index = self._index()
            module = self._module

            class _Assignments(cst.CSTVisitor):
                def visit_Assign(self, node: cst.Assign) -> None:
                    if isinstance(node.value, cst.Call):
                        qualified = index.resolve(node.value.func, [module]) or dotted(node.value.func) or ""
                        kind = _MODULES.get(qualified) or _MODULES.get("torch." + qualified)
                        if kind:
                            for target in node.targets:
                                name = dotted(target.target)
                                if name:
                                    found[name] = kind

            module.visit(_Assignments())
            self._activations = found
        return self._activations

    def _report(self, statement, write, op: str) -> None:
        message = f"In-place write to `{write.name}`, the output of {op}, which autograd saved: backward() will raise"
        self.report(statement, message, out_of_place_fix(statement, write))
