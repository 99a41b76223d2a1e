"""GF301: `forward` mutates a tensor it was given."""
from __future__ import annotations

import re

import libcst as cst

from autofix.rule import Applicability, Effect, Invalid, Rule, Scenario, Valid
from codemods._inplace import binds, out_of_place_fix, statements_in_order, writes_in
from codemods._torch import under_no_grad


_SCENARIO = """\\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)


class PositionalHead(nn.Module):
    def __init__(self, dim=8):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(dim, generator=g) * 0.1)
        self.out = nn.Linear(dim, 1)

    def forward(self, x):
        x += self.pos
        return self.out(x)


model = PositionalHead().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(32, 8, generator=g).to(device)
y = x.sum(dim=1, keepdim=True)
for step in range(10):
    optimizer.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
"""


class InplaceOnInput(Rule):
    """
    ## What it does
    Finds a `forward` method that writes in place to a tensor it received: `x += self.pos_embedding`,
    `x.mul_(scale)`, `x.clamp_(0, 1)`, `x[mask] = 0`, `x.masked_fill_(mask, 0)`, before rebinding the name.

    ## Why is this bad?
    The write lands in the caller's tensor. A caller that reuses its batch (several epochs over cached
    tensors, a fixed validation batch, a loss computed from the input) sees its data drift step by step,
    silently: with `x += pos` each call adds the embedding again. When the input requires grad or autograd
    saved it, `backward()` raises "a leaf Variable that requires grad is being used in an in-place operation"
    or "modified by an inplace operation".

    ## Example
    ```python
    def forward(self, x):
        x += self.pos_embedding
        return self.blocks(x)
    ```

    ## Use instead
    ```python
    def forward(self, x):
        x = x + self.pos_embedding
        return self.blocks(x)
    ```

    ## Runtime
    Silent corruption of the caller's tensor, or an in-place error at `backward()`.

    ## Fix safety
    Safe and repairing: the write becomes out of place (`x = x + ...`, `x = x.clamp(...)`), or, for an indexed
    write, `x = x.clone()` is inserted before it. The result is the same, computed in new memory: one
    allocation the size of `x`. In-place methods with no exact out-of-place twin (`zero_`, `fill_`, `copy_`)
    are reported without a fix. Names rebound earlier in `forward` (`x = self.proj(x)`) and writes under
    `torch.no_grad()` are not reported.
    """

    code = "GF301"
    name = "inplace-on-input"
    message = "forward() writes in place to a tensor it was given: the caller's data changes"
    runtime = "silent: the caller's tensor is mutated (or an in-place error at backward())"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"def forward\(")

    examples = (
        Invalid(
            "class M(nn.Module):\n    def forward(self, x):\n        x += self.pos_embedding\n        return self.net(x)\n",
            "class M(nn.Module):\n    def forward(self, x):\n        x = x + self.pos_embedding\n        return self.net(x)\n",
            "augmented assignment",
        ),
        Invalid(
            "class M(nn.Module):\n    def forward(self, x, scale):\n        x *= scale + 1\n        return x\n",
            "class M(nn.Module):\n    def forward(self, x, scale):\n        x = x * (scale + 1)\n        return x\n",
            "the right side is parenthesised when precedence needs it",
        ),
        Invalid(
            "class M(nn.Module):\n    def forward(self, x):\n        x.clamp_(0, 1)  # keep in range\n        return self.net(x)\n",
            "class M(nn.Module):\n    def forward(self, x):\n        x = x.clamp(0, 1)  # keep in range\n        return self.net(x)\n",
            "an in-place method with an out-of-place twin",
        ),
        Invalid(
            "class M(nn.Module):\n    def forward(self, x, mask):\n        x[mask] = 0\n        return self.net(x)\n",
            "class M(nn.Module):\n    def forward(self, x, mask):\n        x = x.clone()\n        x[mask] = 0\n        return self.net(x)\n",
            "an indexed write: clone first",
        ),
        Invalid(
            "class M(nn.Module):\n    def forward(self, x):\n        x.zero_()\n        return x\n",
            None,
            "no out-of-place twin: reported without a fix",
        ),
        Valid("class M(nn.Module):\n    def forward(self, x):\n        x = self.proj(x)\n        x += self.bias\n        return x\n",
              "rebound to a fresh tensor first"),
        Valid("class M(nn.Module):\n    def forward(self, x):\n        h = torch.zeros_like(x)\n        h += x\n        return h\n",
              "in-place on a tensor created in the function"),
        Valid("class M(nn.Module):\n    def forward(self, x):\n        outs = []\n        outs.append(x)\n        outs[0] = x * 2\n        return outs\n",
              "a Python list built in the function"),
        Valid("class M(nn.Module):\n    def forward(self, x):\n        with torch.no_grad():\n            x.clamp_(0, 1)\n        return x\n",
              "under torch.no_grad()"),
        Valid("def step(x):\n    x += 1\n    return x\n", "not a forward method"),
    )
    scenarios = (Scenario("positional-head-mutates-its-input", _SCENARIO),)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.name.value != "forward" or not isinstance(node.body, cst.IndentedBlock):
            return
        params = node.params
        given = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)} - {"self"}
        for statement in statements_in_order(node.body.body):
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    write = writes_in(small)
                    if write is None or write.name not in given or under_no_grad(statement, self.parent):
                        continue
                    self._report(statement, write)
                    given.discard(write.name)  # the fix rebinds it; report each input once
            given -= binds(statement)

    def _report(self, statement, write) -> None:
        message = f"forward() writes in place to its input `{write.name}`: the caller's tensor changes"
        self.report(statement, message, out_of_place_fix(statement, write))
