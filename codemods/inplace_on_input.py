"""GF301: `forward` mutates a tensor it was given, and the file shows a caller that this hurts."""
from __future__ import annotations

import ast
import re

from autofix.rule import Applicability, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import Kind, SemanticModel
from codemods._inplace import (
    TENSOR_WRITE_METHODS,
    Harm,
    autograd_off,
    has_out_of_place_twin,
    inplace_writes,
    input_harm,
    out_of_place_fix,
    written_statement,
)

_SCENARIO = """\
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
    Finds a `forward` method that writes in place to a tensor it received (`x += self.pos_embedding`,
    `x.mul_(scale)`, `x.clamp_(0, 1)`, `x[mask] = 0`, `x.masked_fill_(mask, 0)`) before rebinding the name,
    when the same file shows a caller that this hurts:

    - the caller reads the tensor again after the call (`return self.inner(x) + x`, a loss computed from the
      batch), or passes the same tensor on every turn of a loop (a cached batch, several epochs);
    - the caller passes a leaf that requires grad, or an output autograd saved for backward (a ReLU output);
    - the caller passes state kept on `self` (a buffer);
    - the caller passes its own argument on, and one of *its* callers is hurt (followed up to three levels).

    Callers are the file's calls of the module: `self.encoder(h)` for `self.encoder = Encoder(...)` (each
    class when `__init__` picks one in a branch), `layer(h)` over an `nn.ModuleList` of one class,
    `model(x)` for `model = Model()`.

    ## Why is this bad?
    The write lands in the caller's tensor. A caller that reuses it sees its data drift step by step,
    silently: with `x += pos` each call adds the embedding again. When the input requires grad or autograd
    saved it, the write raises "a leaf Variable that requires grad is being used in an in-place operation"
    at once or "modified by an inplace operation" at `backward()` (all checked on torch 2.13).

    Not reported, because nothing shows harm: a forward whose callers in the file all pass a fresh
    intermediate they never read again (`h = self.encoder(self.proj(x))`, `h = layer(h)`: the in-place write
    saves a copy and is fine); a forward the file never calls (a top-level model, or a block used from other
    files: whether its caller reuses the tensor is not in sight); an argument that is not a tensor (a PyG
    `Data` object, a dict of caches, as their annotations or the callers say); an argument of unknown type
    written with `+=` or `[...] =` (on an int `+=` rebinds; a list or dict may be meant to be shared); writes
    where autograd is off.

    ## Example
    ```python
    class Head(nn.Module):
        def forward(self, x):
            x += self.pos_embedding
            return self.blocks(x)

    for epoch in range(epochs):
        loss = criterion(head(batch), target)  # `batch` gains the embedding again every epoch
    ```

    ## Use instead
    ```python
    class Head(nn.Module):
        def forward(self, x):
            x = x + self.pos_embedding
            return self.blocks(x)
    ```

    ## Runtime
    Silent corruption of the caller's tensor, or an in-place error (at once, or at `backward()`).

    ## Fix safety
    Safe and repairing: the write becomes out of place (`x = x + ...`, `x = x.clamp(...)`): the same op, its
    result in new memory. An indexed write gets `x = x.clone()` before it, one copy of `x` per call; inside a
    loop that copy would be paid on every turn, so there the fix is offered as unsafe. In-place methods with
    no exact out-of-place twin (`zero_`, `fill_`, `copy_`) are reported without a fix.
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
            "import torch\nimport torch.nn as nn\n\n\nclass M(nn.Module):\n    def forward(self, x: torch.Tensor):\n        x += self.pos_embedding\n"
            "        return self.net(x)\n\n\nclass Residual(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.inner = M()\n\n    def forward(self, x):\n        return self.inner(x) + x\n",
            "import torch\nimport torch.nn as nn\n\n\nclass M(nn.Module):\n    def forward(self, x: torch.Tensor):\n        x = x + self.pos_embedding\n"
            "        return self.net(x)\n\n\nclass Residual(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.inner = M()\n\n    def forward(self, x):\n        return self.inner(x) + x\n",
            "augmented assignment",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass M(nn.Module):\n    def forward(self, x, scale):\n        x *= scale + 1\n        return x\n\n\n"
            "features = torch.randn(4, 8)\nscaled = M()(features, 2.0)\nprint(features.mean())\n",
            "import torch\nimport torch.nn as nn\n\n\nclass M(nn.Module):\n    def forward(self, x, scale):\n        x = x * (scale + 1)\n        return x\n\n\n"
            "features = torch.randn(4, 8)\nscaled = M()(features, 2.0)\nprint(features.mean())\n",
            "the right side is parenthesised when precedence needs it",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass M(nn.Module):\n    def forward(self, x):\n        x.clamp_(0, 1)  # keep in range\n"
            "        return self.net(x)\n\n\nmodel = M()\nbatch = torch.rand(16, 3)\nfor epoch in range(10):\n"
            "    model(batch).sum().backward()\n",
            "import torch\nimport torch.nn as nn\n\n\nclass M(nn.Module):\n    def forward(self, x):\n        x = x.clamp(0, 1)  # keep in range\n"
            "        return self.net(x)\n\n\nmodel = M()\nbatch = torch.rand(16, 3)\nfor epoch in range(10):\n"
            "    model(batch).sum().backward()\n",
            "an in-place method with an out-of-place twin",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass M(nn.Module):\n    def forward(self, x: torch.Tensor, mask):\n        x[mask] = 0\n"
            "        return self.net(x)\n\n\ndef masked_loss(model: M, x, mask):\n    return (model(x, mask) - x).pow(2).mean()\n",
            "import torch\nimport torch.nn as nn\n\n\nclass M(nn.Module):\n    def forward(self, x: torch.Tensor, mask):\n        x = x.clone()\n        x[mask] = 0\n"
            "        return self.net(x)\n\n\ndef masked_loss(model: M, x, mask):\n    return (model(x, mask) - x).pow(2).mean()\n",
            "an indexed write: clone first",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass M(nn.Module):\n    def forward(self, x):\n        x.zero_()\n        return x\n\n\n"
            "state = torch.ones(3)\nM()(state)\nprint(state)\n",
            None,
            "no out-of-place twin: reported without a fix",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass Shift(nn.Module):\n    def forward(self, x):\n        x.sub_(x.mean())\n        return x\n\n\n"
            "w = torch.randn(5, requires_grad=True)\nout = Shift()(w)\n",
            "import torch\nimport torch.nn as nn\n\n\nclass Shift(nn.Module):\n    def forward(self, x):\n        x = x.sub(x.mean())\n        return x\n\n\n"
            "w = torch.randn(5, requires_grad=True)\nout = Shift()(w)\n",
            "the caller passes a leaf that requires grad: the write raises at once",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass Dropper(nn.Module):\n    def forward(self, x: torch.Tensor, masks):\n        for mask in masks:\n"
            "            x[mask] = 0.0\n        return x\n\n\nclass Twice(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.drop = Dropper()\n\n    def forward(self, x, masks):\n"
            "        return self.drop(x, masks), x\n",
            None,
            "an indexed write in a loop: the clone would run on every turn, so it is an unsafe fix",
            unsafe_after="import torch\nimport torch.nn as nn\n\n\nclass Dropper(nn.Module):\n    def forward(self, x: torch.Tensor, masks):\n        for mask in masks:\n"
            "            x = x.clone()\n            x[mask] = 0.0\n        return x\n\n\nclass Twice(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.drop = Dropper()\n\n    def forward(self, x, masks):\n"
            "        return self.drop(x, masks), x\n",
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
        Valid(
            "from torch_geometric.data import Data\nfrom torch_geometric.transforms import BaseTransform\n\n\n"
            "class ClipEdgeWeights(BaseTransform):\n    def forward(self, data: Data) -> Data:\n"
            "        for key, value in data.items():\n            if key.endswith('_weight'):\n"
            "                data[key] = value.clamp(min=0.0)\n        return data\n",
            "a PyG Data object, as the annotation says: not a tensor (and no clone in a loop)",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass SpeechEncoder(nn.Module):\n    def forward(self, hidden_states: torch.Tensor, padding: torch.Tensor):\n"
            "        hidden_states[padding] = 0.0\n        return self.layers(hidden_states)\n\n\n"
            "class SpeechModel(nn.Module):\n    def __init__(self, dim):\n        super().__init__()\n"
            "        self.project = nn.Linear(dim, dim)\n        self.encoder = SpeechEncoder()\n\n"
            "    def forward(self, features, padding):\n        hidden_states = self.project(features)\n"
            "        hidden_states = self.encoder(hidden_states, padding)\n        return hidden_states\n",
            "the only caller passes a fresh intermediate it never reads again: the write is harmless, a clone is waste",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass NoisyRouter(nn.Module):\n    def forward(self, hidden: torch.Tensor):\n        if self.training:\n"
            "            hidden *= torch.empty_like(hidden).uniform_(0.99, 1.01)\n        return self.score(hidden)\n\n\n"
            "class Stack(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n"
            "        self.blocks = nn.ModuleList([NoisyRouter() for _ in range(n)])\n        self.norm = nn.LayerNorm(8)\n\n"
            "    def forward(self, hidden):\n        for block in self.blocks:\n            hidden = block(self.norm(hidden))\n"
            "        return hidden\n",
            "each layer of a ModuleList gets a fresh normalised tensor",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass Scale(nn.Module):\n    def forward(self, x: torch.Tensor):\n"
            "        x.mul_(self.gain)\n        return x\n\n\nclass Block(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.scale = Scale()\n        self.proj = nn.Linear(8, 8)\n\n"
            "    def forward(self, x):\n        h = self.proj(x)\n        out = self.scale(h)\n"
            "        return out.view(h.shape[0], -1)\n",
            "after the call the caller reads only the shape, which an in-place write does not change",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass PatchEmbed(nn.Module):\n    def forward(self, pixels: torch.Tensor):\n        pixels -= self.mean\n"
            "        return self.proj(pixels)\n",
            "the file shows no caller: whether one reuses its tensor is out of sight",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass Attention(nn.Module):\n    def forward(self, x: torch.Tensor, cache: dict):\n"
            "        cache['keys'] = self.k(x)\n        return x\n\n\nclass Decoder(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.attn = Attention()\n\n    def forward(self, x, cache):\n"
            "        y = self.attn(x, cache)\n        return y, cache\n",
            "a dict the caller shares on purpose is not a tensor",
        ),
    )
    scenarios = (Scenario("positional-head-mutates-its-input", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        done: set[tuple[int, str]] = set()
        for write in inplace_writes(model, self.context.cache):
            forward = model.function(write.statement)
            name = write.name
            if not (isinstance(forward, ast.FunctionDef) and forward.name == "forward") or name is None:
                continue
            if (id(forward), name) in done or not _is_argument(model, forward, write.base):
                continue
            if model.enclosing_class(forward) is None or autograd_off(model, write.statement):
                continue
            if model.under_no_grad(write.statement):
                continue
            value = model.value(write.base)
            if value.kind not in (Kind.TENSOR, Kind.PARAMETER, Kind.UNKNOWN):
                continue  # a PyG Data, a dict, a list, a number: not a tensor's memory
            proven = value.is_tensor or write.method in TENSOR_WRITE_METHODS
            harm = input_harm(model, forward, name, self.context.cache, proven)
            if not isinstance(harm, Harm):
                continue
            done.add((id(forward), name))
            self.report(write.statement, f"forward() writes in place to its input `{name}`: {harm.reason}",
                        fix=_applicability(model, write))

    def fix(self, finding, tree) -> Fix | None:
        small = written_statement(finding, tree)
        return out_of_place_fix(small, tree) if small is not None else None


def _is_argument(model: SemanticModel, forward: ast.FunctionDef, name: ast.Name) -> bool:
    """`name` may still hold the argument of that name (the parameter binding reaches it)."""
    arguments = [a.arg for a in (*forward.args.posonlyargs, *forward.args.args, *forward.args.kwonlyargs)][1:]
    if name.id not in arguments:
        return False
    return any(b.kind == "param" for b in model.bindings_reaching(name.id, name) or ())


def _applicability(model: SemanticModel, write) -> Applicability | None:
    if write.kind == "subscript":
        if write.name is None:
            return None
        # `x = x.clone()` first: one copy per call, not one per turn of a loop.
        return Applicability.UNSAFE if model.enclosing_loops(write.statement) else Applicability.SAFE
    return Applicability.SAFE if has_out_of_place_twin(write) else None
