"""GF502: `nn.Parameter(t).to(device)`: the move returns a plain tensor that is never registered or trained."""
from __future__ import annotations

import ast
import re

from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import SemanticModel, keyword
from codemods._gf5 import PARAMETER_CLASSES, already_moved, chain_at, created_as, moved_chains, moves_nothing
from codemods._torch import mover_chain, replay_movers, source_of

_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)


class ScaledRegressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 1).double()
        # A learned per-feature scale, in double precision like the layer.
        self.scale = nn.Parameter(torch.ones(8)).double()

    def forward(self, x):
        return self.fc(x * self.scale)


model = ScaledRegressor().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(64, 8, generator=g, dtype=torch.float64).to(device)
y = (x * torch.linspace(0.5, 2.0, 8, dtype=torch.float64).to(device)).sum(dim=1, keepdim=True)
for step in range(10):
    optimizer.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
"""


class ParameterThenMoved(Rule):
    """
    ## What it does
    Finds a device or dtype move applied to a freshly made Parameter: `nn.Parameter(t).to(device)`,
    `nn.Parameter(t).cuda()`, `nn.Parameter(t).double()`, `.half()`, `.float()`, `.bfloat16()`, `.cpu()`.

    ## Why is this bad?
    A move that changes the device or dtype returns a new tensor computed from the Parameter: a plain
    `Tensor`, not a `Parameter`, and not a leaf. Assigned to a module attribute it is not registered, so it
    is missing from `parameters()` and `state_dict()`, the optimizer never sees it, and it is never trained
    (autograd fact "nn.Parameter(t).to(other dtype/device) is not registered"). When the move changes
    nothing (`.to("cpu")` on a CPU tensor) it returns the Parameter itself, so the bug hides on a laptop and
    appears on the GPU.

    ## Example
    ```python
    self.scale = nn.Parameter(torch.ones(dim)).to(device)
    ```

    ## Use instead
    ```python
    self.scale = nn.Parameter(torch.ones(dim).to(device))
    ```

    ## Runtime
    Silent: the tensor is used in forward and gradients flow into an orphaned Parameter nobody optimizes.
    `SGD([w])` over such a tensor raises "can't optimize a non-leaf Tensor".

    ## Fix safety
    Safe and repairing: the same values, moved before they are wrapped, so the module gets a real
    Parameter. The chain of moves is kept in order (or dropped, when the data already ends with the same
    moves). Moves that provably return the Parameter itself are not reported: `.float()` of data a torch
    factory makes in float32, `.cpu()` of data made on the CPU, `.to(dtype)` to the dtype it already has.
    """

    code = "GF502"
    name = "parameter-then-moved"
    message = "`Parameter(...).to()` returns a plain tensor: it is never registered or trained; move the data first"
    runtime = "silent: the attribute is not a Parameter, so it is never optimized"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"Parameter\s*\(")  # a literal first: the fast search path

    examples = (
        Invalid(
            "import torch.nn as nn\nself.scale = nn.Parameter(torch.ones(dim)).to(device)\n",
            "import torch.nn as nn\nself.scale = nn.Parameter(torch.ones(dim).to(device))\n",
            "moved to a device after wrapping",
        ),
        Invalid(
            "import torch\nself.w = torch.nn.Parameter(a + b, requires_grad=True).cuda().half()\n",
            "import torch\nself.w = torch.nn.Parameter((a + b).cuda().half(), requires_grad=True)\n",
            "a chain of moves goes inside whole; the expression is parenthesised",
        ),
        Invalid(
            "from torch.nn import Parameter\nw = Parameter(torch.randn(3, 3)).double()\n",
            "from torch.nn import Parameter\nw = Parameter(torch.randn(3, 3).double())\n",
            "Parameter imported by name",
        ),
        Valid("import torch.nn as nn\nself.scale = nn.Parameter(torch.ones(dim).to(device))\n", "moved first"),
        Valid("import torch.nn as nn\nmodel = nn.Linear(3, 3).to(device)\n", "`.to()` on a module moves it in place"),
        Valid("import torch.nn as nn\nn = nn.Parameter(t).numel()\n", "not a move"),
        Valid("from mylib import Parameter\np = Parameter(3).to(unit)\n", "not torch's Parameter"),
        Invalid(
            "import torch.nn as nn\nself.bias = nn.Parameter(data=torch.zeros(dim), requires_grad=True).to(device)\n",
            "import torch.nn as nn\nself.bias = nn.Parameter(data=torch.zeros(dim).to(device), requires_grad=True)\n",
            "the data passed as `data=`, with `requires_grad=True`",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\nself.scale = nn.Parameter(torch.ones(dim)).float()\n",
            "`.float()` of float32 data returns the Parameter itself: nothing is lost",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\nw = nn.Parameter(torch.zeros(3, dtype=torch.float64)).to(torch.float64)\n",
            "a cast to the dtype the data already has returns the Parameter itself",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\nself.emb = nn.Parameter(torch.randn(n, 8).to(device)).to(device)\n",
            "import torch\nimport torch.nn as nn\nself.emb = nn.Parameter(torch.randn(n, 8).to(device))\n",
            "the data is already moved the same way: the outer move goes",
        ),
        Valid(
            "import torch.nn as nn\n\n\ndef load(module, name, value, device):\n    x = value.to(device)\n"
            "    module._parameters[name] = nn.Parameter(x, requires_grad=False).to(device)\n",
            "the data was moved to the same device just above: `.to(device)` returns the Parameter itself",
        ),
        Valid(
            "import torch.nn as nn\n\n\nclass Scale(nn.Module):\n    def __init__(self, value, device):\n"
            "        super().__init__()\n        x = value.to(device)\n        self.w = nn.Parameter(x).to(device)\n",
            "a no-op move of a Parameter whose data is already there: `self.w` is the registered Parameter",
        ),
    )

    scenarios = (Scenario("scale-parameter-double", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        for chain, base, moves in moved_chains(model):
            if not isinstance(base, ast.Call) or model.qualified_name(base.func) not in PARAMETER_CLASSES:
                continue
            data = _data_argument(base)
            if data is None:
                continue
            if moves_nothing(model, moves, *created_as(model, data)):
                continue  # `nn.Parameter(torch.ones(3)).float()` is the Parameter itself
            if already_moved(model, data, moves):
                continue  # `x = value.to(device)` above: `nn.Parameter(x).to(device)` is the Parameter itself
            self.report(
                chain,
                f"`Parameter(...).{moves[0].func.attr}()` returns a plain tensor: it is never registered or trained; "
                "move the data first",
                fix=Applicability.SAFE,
            )

    def fix(self, finding, tree) -> Fix | None:
        found = chain_at(finding, tree)
        if found is None:
            return None
        node, base, moves = found
        index = next((i for i, a in enumerate(base.args) if a.keyword is None or a.keyword.value == "data"), None)
        if index is None or base.args[index].star:
            return None
        args = list(base.args)
        data = args[index].value
        if not _moved_alike(data, moves):  # `nn.Parameter(t.to(d)).to(d)`: the data is already moved
            args[index] = args[index].with_changes(value=replay_movers(data, moves))
        return Fix((Edit(node, base.with_changes(args=args)),), Applicability.SAFE, Effect.REPAIRING)


def _data_argument(call: ast.Call) -> ast.AST | None:
    """The tensor a Parameter wraps: its first positional argument or `data=`; None when not plain."""
    if call.args:
        return None if isinstance(call.args[0], ast.Starred) else call.args[0]
    return keyword(call, "data")


def _moved_alike(data, moves) -> bool:
    """`data` already ends with the same moves, written the same way."""
    _, inner = mover_chain(data)
    if len(inner) < len(moves):
        return False
    return all(_spelling(a) == _spelling(b) for a, b in zip(inner[len(inner) - len(moves):], moves))


def _spelling(move) -> tuple:
    return move.func.attr.value, tuple((a.keyword and a.keyword.value, source_of(a.value)) for a in move.args)
