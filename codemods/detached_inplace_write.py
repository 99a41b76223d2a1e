"""GF101: in-place writes to a tensor through `.detach()` or `.data`."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from autofix.lazy import libcst as cst
from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import FUNCTIONS, Grad, Kind, Range, SemanticModel
from codemods._aliases import carries_graph, tensor_alias
from codemods._torch import Imports, no_grad_block, scope_chain

# In-place methods that are not writes to the tensor's values.
_NOT_WRITES = frozenset({"requires_grad_", "share_memory_", "retain_grad", "record_stream"})
# Deprecated positional overloads still accepted (with a warning) by torch 2.13: `add_(alpha, other)`.
_SCALAR_FIRST = {"add_": ("alpha", 2), "sub_": ("alpha", 2), "addcmul_": ("value", 3), "addcdiv_": ("value", 3)}
_BACKWARD_METHODS = ("backward", "manual_backward")


@dataclass(frozen=True)
class _Write:
    """One statement that writes through an alias, as the fix needs it."""

    range: Range  # the statement
    kind: str  # "data" or "detach"
    grad_data: tuple[Range, ...]  # `p.grad.data` reads in its arguments/value: they lose `.data` too
    fixable: bool = True  # False: `w.data -= v` on a global/closure `w` (`w -= v` would make `w` local)


@dataclass(frozen=True, eq=False)
class _Run:
    """Adjacent writes that one fix rewrites together (one `with torch.no_grad():` block)."""

    writes: tuple[_Write, ...]
    under_no_grad: bool  # already under no_grad: each write just loses its alias


_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(1)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(16, 32)
        self.head = nn.Linear(32, 4)
        self.hidden.weight.data.normal_(0.0, 0.2)
        self.hidden.bias.data.fill_(0.01)
        self.head.weight.detach().uniform_(-0.1, 0.1)
        self.head.bias.detach().zero_()

    def forward(self, x):
        return self.head(F.relu(self.hidden(x)))


def sgd(model, lr):
    for p in model.parameters():
        p.data.add_(-lr, p.grad.data)
        p.grad = None


model = MLP().to(device)
x = torch.randn(64, 16, generator=g).to(device)
y = torch.randint(0, 4, (64,), generator=g).to(device)
for step in range(6):
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    sgd(model, lr=0.5)
"""

class DetachedInplaceWrite(Rule):
    """
    ## What it does
    Finds in-place writes to a tensor through an alias that autograd does not track:
    `param.detach().zero_()`, `m.weight.data.normal_(0.0, 0.02)`, `m.bias.data.fill_(0)`,
    `emb.weight.data[pad_idx].zero_()`, `p.data.add_(-lr, p.grad.data)`, `w.data[i] = v`, `w.data -= v`.

    ## Why is this bad?
    Not for the reason usually given. `.detach()` and `.data` share storage with the parameter, so the
    write lands in the parameter, which stays a trainable leaf: gradients keep flowing (autograd fact
    "detach().zero_() zeroes the parameter in place and gradients still flow"). At initialisation the
    old code works.

    The problem is what the alias hides. A write through `.data` does not bump autograd's version
    counter (fact ".data writes bypass the version counter"), so when such a write happens between a
    forward pass and its `backward()`, autograd silently computes gradients from overwritten values
    instead of raising "one of the variables needed for gradient computation has been modified by an
    inplace operation". `torch.no_grad()` is the documented way to write to a parameter: it states the
    intent and keeps autograd's checks on. `.data` is a legacy API that the PyTorch docs discourage.

    ## Example
    ```python
    self.linear.weight.detach().zero_()
    self.linear.bias.data.fill_(0)
    for p in model.parameters():
        p.data.add_(-lr, p.grad.data)
    ```

    ## Use instead
    ```python
    with torch.no_grad():
        self.linear.weight.zero_()
        self.linear.bias.fill_(0)
    for p in model.parameters():
        with torch.no_grad():
            p.add_(p.grad, alpha=-lr)
    ```
    Consecutive writes share one `with` block; a write already under `torch.no_grad()` just loses its
    `.detach()` / `.data`. The deprecated `add_(scalar, tensor)` overload becomes
    `add_(tensor, alpha=scalar)` (likewise `sub_`, `addcmul_`, `addcdiv_` with `value=`), with the same numerics.

    Which writes are reported is the semantic model's call, not the spelling of a name:
    - `X.data` only where the model shows that X is a tensor: a parameter of a known `nn` layer
      (`self.fc = nn.Linear(...)`, `isinstance(m, (nn.Linear, nn.Conv2d))`, `m: nn.Embedding`), an
      `nn.Parameter`, a loop variable over `parameters()` or an optimizer's `group["params"]`, an argument
      annotated `Tensor`, a view of any of these (`b = conv.bias.view(3, -1)`). `.data` is an ordinary
      attribute of many objects that hold tensors (a torchvision dataset, a PyG `Batch`, a container's own
      `self.data[i] = v`), and even `dataset.data.mul_(255)` proves only that `dataset.data` is a tensor, not
      that `dataset` is; so an X the model cannot see (an unannotated argument, an imported class) is left
      alone.
    - `X.detach()` wherever the model does not know X to be something else: `detach()` is the tensor method
      that returns an alias of its receiver, and a statement that writes into that alias and drops the
      result means a write into X.

    ## Runtime
    Silent: the old code trains; a `.data` write between forward and backward corrupts gradients silently.

    ## Fix safety
    Safe and behaviour-preserving where no backward pass is in sight: the same values are written to
    the same storage. In a `forward` method, in a function or method of the file that a `forward` calls,
    and in a function that itself calls `backward()`, the fix is unsafe: if the write lands between
    forward and backward on a tensor autograd saved, the fixed code raises "modified by an inplace
    operation" where the old code silently computed wrong gradients. That is the truth surfacing, but it is a change in behaviour, so it needs `--unsafe-fixes`.
    For the same reason the fix is unsafe when the tensor written is a computed intermediate that carries a
    graph (`h = layer(x)`, then `h.data.clamp_(min=0)`): autograd may have saved it for a backward pass the
    file does not show. A parameter, a plain tensor and a view of a parameter are not such intermediates.
    `w.data -= v` on a global or closure variable `w` is reported without a fix: `w -= v` in a function
    would make `w` a local variable there (UnboundLocalError).
    """

    code = "GF101"
    name = "detached-inplace-write"
    message = "In-place write through `.detach()`/`.data`: write under `torch.no_grad()` instead"
    runtime = "silent: the write works, but `.data` hides it from autograd's in-place checks"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.PRESERVING
    # `.data`/`.detach()` (perhaps parenthesised) then an index, an in-place method or any augmented assignment.
    prefilter = re.compile(r"\.(?:detach\(\s*\)|data)\)*\s*(?:\[|\.\s*\w+_\s*\(|(?:[-+*/%@&|^]|//|\*\*|<<|>>)=)")

    examples = (
        Invalid(
            "import torch.nn as nn\n\n\nclass Probe(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.linear = nn.Linear(4, 2)\n        self.linear.weight.detach().zero_()\n"
            "        self.linear.bias.detach().zero_()\n",
            "import torch.nn as nn\nimport torch\n\n\nclass Probe(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.linear = nn.Linear(4, 2)\n        with torch.no_grad():\n"
            "            self.linear.weight.zero_()\n            self.linear.bias.zero_()\n",
            "consecutive writes share one block; torch is imported when the file binds no name for it",
        ),
        Invalid(
            "import torch as T\n\ndef init(m: T.nn.Linear):\n    m.weight.data.normal_(0.0, 0.02)\n    m.bias.data.fill_(0)\n",
            "import torch as T\n\ndef init(m: T.nn.Linear):\n    with T.no_grad():\n        m.weight.normal_(0.0, 0.02)\n"
            "        m.bias.fill_(0)\n",
            "the file's alias for torch is used",
        ),
        Invalid(
            "from torch import nn, no_grad\n\ndef init(module):\n    if isinstance(module, nn.Embedding):\n"
            "        module.weight.data[module.padding_idx].zero_()\n",
            "from torch import nn, no_grad\n\ndef init(module):\n    if isinstance(module, nn.Embedding):\n"
            "        with no_grad():\n"
            "            module.weight[module.padding_idx].zero_()\n",
            "an indexed write; a directly imported no_grad is used",
        ),
        Invalid(
            "import torch\n\ndef sgd(model, lr):\n    with torch.no_grad():\n        for p in model.parameters():\n"
            "            p.data.add_(-lr, p.grad.data)\n",
            "import torch\n\ndef sgd(model, lr):\n    with torch.no_grad():\n        for p in model.parameters():\n"
            "            p.add_(p.grad, alpha=-lr)\n",
            "already under no_grad: only the alias goes; the deprecated overload is modernised",
        ),
        Invalid(
            "import torch\n\ndef step(params: list[torch.Tensor], lr):\n    for p in params:\n"
            "        p.data -= lr * p.grad.data  # SGD\n",
            "import torch\n\ndef step(params: list[torch.Tensor], lr):\n    for p in params:\n        with torch.no_grad():\n"
            "            p -= lr * p.grad  # SGD\n",
            "augmented assignment through .data",
        ),
        Invalid(
            "import torch\n\ndef reset(layer):\n    for w in layer.parameters(): w.data.zero_()\n",
            "import torch\n\ndef reset(layer):\n    for w in layer.parameters():\n        with torch.no_grad():\n"
            "            w.zero_()\n",
            "a one-line loop body gets a real block",
        ),
        Invalid(
            "def build():\n    import torch.nn as nn\n    layer = nn.Linear(2, 2)\n    layer.bias.detach().zero_()\n"
            "    return layer\n",
            "def build():\n    import torch.nn as nn\n    import torch\n    layer = nn.Linear(2, 2)\n"
            "    with torch.no_grad():\n        layer.bias.zero_()\n    return layer\n",
            "a lazily importing function keeps importing lazily: the import goes into the function",
        ),
        Invalid(
            "import torch\n\ndef train_step(model, loss, lr):\n    loss.backward()\n    for p in model.parameters():\n"
            "        p.data.add_(p.grad, alpha=-lr)\n",
            None,
            "a backward pass is in sight: the fix could turn silent gradient corruption into an error",
            unsafe_after="import torch\n\ndef train_step(model, loss, lr):\n    loss.backward()\n"
            "    for p in model.parameters():\n        with torch.no_grad():\n            p.add_(p.grad, alpha=-lr)\n",
        ),
        Valid("import torch\nwith torch.no_grad():\n    layer.weight.zero_()\n", "already the idiom"),
        Valid("dataset.data.mul_(255)\nbatch.data[0] = 1\n", "`.data` of a dataset or batch is not a parameter"),
        Valid("torch.nn.init.zeros_(p)\n", "nn.init already writes under no_grad"),
        Valid("img = out.detach().clamp_(0, 1)\n", "the result is used: not a plain write to a parameter"),
        Valid("p.detach().requires_grad_()\n", "not a write to values (GF2xx covers detached losses)"),
        Valid("x = p.data\ny = w.detach() * 2\n", "reads, not writes"),
        Valid("m.weight.data.zero_()  # autofix: ignore[GF101]\n", "suppressed"),
        Invalid(
            "import math\nimport torch.nn as nn\n\nhead = nn.Conv2d(64, 3 * 85, 1)\nb = head.bias.view(3, -1)\n"
            "b.data[:, 4] += math.log(8 / 640)\nb.data[:, 5:] += math.log(0.6 / 84)\n"
            "head.bias = nn.Parameter(b.view(-1))\n",
            "import math\nimport torch.nn as nn\nimport torch\n\nhead = nn.Conv2d(64, 3 * 85, 1)\nb = head.bias.view(3, -1)\n"
            "with torch.no_grad():\n    b[:, 4] += math.log(8 / 640)\n    b[:, 5:] += math.log(0.6 / 84)\n"
            "head.bias = nn.Parameter(b.view(-1))\n",
            "writes through `.data` of a view of a parameter (a detection-head bias prior) land in the parameter",
        ),
        Invalid(
            "import math\n\nimport torch.nn as nn\n\n\nclass Detect(nn.Module):\n"
            "    def __init__(self, classes, channels):\n        super().__init__()\n"
            "        self.m = nn.ModuleList(nn.Conv2d(c, 3 * (classes + 5), 1) for c in channels)\n"
            "        for conv in self.m:\n            b = conv.bias.view(3, -1)\n"
            "            b.data[:, 4] += math.log(8 / 640)\n            conv.bias = nn.Parameter(b.view(-1))\n",
            "import math\n\nimport torch.nn as nn\nimport torch\n\n\nclass Detect(nn.Module):\n"
            "    def __init__(self, classes, channels):\n        super().__init__()\n"
            "        self.m = nn.ModuleList(nn.Conv2d(c, 3 * (classes + 5), 1) for c in channels)\n"
            "        for conv in self.m:\n            b = conv.bias.view(3, -1)\n"
            "            with torch.no_grad():\n                b[:, 4] += math.log(8 / 640)\n"
            "            conv.bias = nn.Parameter(b.view(-1))\n",
            "the layers of an nn.ModuleList the class builds are known, so the view of each bias is too",
        ),
        Invalid(
            "import torch.nn as nn\n\nproj = nn.Linear(4, 4)\n\n\ndef project(x):\n    h = proj(x)\n"
            "    h.data.clamp_(min=0)\n    return h\n",
            None,
            "a computed intermediate carries a graph: autograd may have saved it, so the fix is unsafe",
            unsafe_after="import torch.nn as nn\nimport torch\n\nproj = nn.Linear(4, 4)\n\n\ndef project(x):\n"
            "    h = proj(x)\n    with torch.no_grad():\n        h.clamp_(min=0)\n    return h\n",
        ),
        Invalid(
            "import torch\n\n\nclass LegacySGD(torch.optim.Optimizer):\n    def step(self):\n"
            "        for group in self.param_groups:\n            for p in group['params']:\n"
            "                p.data.add_(-group['lr'], p.grad.data)\n",
            "import torch\n\n\nclass LegacySGD(torch.optim.Optimizer):\n    def step(self):\n"
            "        for group in self.param_groups:\n            for p in group['params']:\n"
            "                with torch.no_grad():\n                    p.add_(p.grad, alpha=-group['lr'])\n",
            "an optimizer's own `group['params']` holds tensors",
        ),
        Invalid(
            "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self, atomref=None):\n"
            "        super().__init__()\n        self.atomref = None\n        if atomref is not None:\n"
            "            self.atomref = nn.Embedding(100, 1)\n            self.atomref.weight.data.copy_(atomref)\n",
            "import torch.nn as nn\nimport torch\n\n\nclass Net(nn.Module):\n    def __init__(self, atomref=None):\n"
            "        super().__init__()\n        self.atomref = None\n        if atomref is not None:\n"
            "            self.atomref = nn.Embedding(100, 1)\n            with torch.no_grad():\n"
            "                self.atomref.weight.copy_(atomref)\n",
            "an optional submodule (`None` until built) is the layer wherever it is dereferenced",
        ),
        Valid(
            "import torch.nn as nn\n\ndef init(m):\n    m.weight.data.normal_(0.0, 0.02)\n    m.bias.data[0] = 1\n",
            "`m` is unannotated and untested: the model cannot tell that `m.weight` is a tensor",
        ),
        Valid(
            "from torch_geometric.data import Batch\n\ndef relabel(batch: Batch, value):\n"
            "    batch.data[0] = value\n    batch.data += value\n    batch.data.mul_(2)\n",
            "a PyG Batch, as its annotation says: its `.data` is not an alias of a tensor",
        ),
        Valid(
            "class Store:\n    def __init__(self):\n        self.data = {}\n\n    def put(self, key, value):\n"
            "        self.data[key] = value\n",
            "a container's own `self.data[...] = v`",
        ),
        Valid(
            "from torchvision.datasets import MNIST\n\ntrain = MNIST('.', download=True)\ntrain.data.div_(255)\n",
            "a dataset's `.data` is a tensor, but the dataset is not: dropping `.data` would break it",
        ),
        Invalid(
            "import torch.nn as nn\n\n\nclass Router(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.coefs = nn.Linear(4, 4)\n\n    def predict(self, x):\n        if self.training:\n"
            "            self.coefs.weight.data.clamp_(-1, 1)\n        return self.coefs(x)\n\n\n"
            "class Layer(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.router = Router()\n\n"
            "    def forward(self, x):\n        return self.router.predict(x)\n",
            None,
            "a method that a forward calls runs in the forward pass: the fix is unsafe there",
            unsafe_after="import torch.nn as nn\nimport torch\n\n\nclass Router(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.coefs = nn.Linear(4, 4)\n\n    def predict(self, x):\n"
            "        if self.training:\n            with torch.no_grad():\n                self.coefs.weight.clamp_(-1, 1)\n"
            "        return self.coefs(x)\n\n\nclass Layer(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.router = Router()\n\n    def forward(self, x):\n        return self.router.predict(x)\n",
        ),
        Invalid(
            "import torch\n\nw = torch.nn.Parameter(torch.ones(3))\n\n\ndef decay(rate):\n    w.data *= 1 - rate\n",
            None,
            "a global rebound by `w *= ...` would become local to the function: reported without a fix",
        ),
        Invalid(
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'def weights_init(m):\n'
            '    classname = m.__class__.__name__\n'
            '    if classname.find("Conv") != -1:\n'
            '        m.weight.data.normal_(0.0, 0.02)\n'
            '\n'
            '\n'
            'net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())\n'
            'net.apply(weights_init)\n',
            'import torch.nn as nn\n'
            'import torch\n'
            '\n'
            '\n'
            'def weights_init(m):\n'
            '    classname = m.__class__.__name__\n'
            '    if classname.find("Conv") != -1:\n'
            '        with torch.no_grad():\n'
            '            m.weight.normal_(0.0, 0.02)\n'
            '\n'
            '\n'
            'net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())\n'
            'net.apply(weights_init)\n',
            'the classic GAN `weights_init`: `Module.apply` calls it with every submodule, and the class-name test admits only layers with a weight',
        ),
        Invalid(
            'import torch.nn as nn\n'
            '\n'
            'net, target = nn.Linear(4, 2), nn.Linear(4, 2)\n'
            '\n'
            '\n'
            'def soft_update(tau):\n'
            '    for p, tp in zip(net.parameters(), target.parameters()):\n'
            '        tp.data.copy_(tau * p.data + (1 - tau) * tp.data)\n',
            'import torch.nn as nn\n'
            'import torch\n'
            '\n'
            'net, target = nn.Linear(4, 2), nn.Linear(4, 2)\n'
            '\n'
            '\n'
            'def soft_update(tau):\n'
            '    for p, tp in zip(net.parameters(), target.parameters()):\n'
            '        with torch.no_grad():\n'
            '            tp.copy_(tau * p.data + (1 - tau) * tp.data)\n',
            'a target-network update: `zip` keeps what `parameters()` yields',
        ),
        Invalid(
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'class Adapter(nn.Module):\n'
            '    def __init__(self, r):\n'
            '        super().__init__()\n'
            '        self.lora_A = nn.ModuleDict({})\n'
            '        self.lora_A["default"] = nn.Linear(8, r)\n'
            '\n'
            '    def shrink(self, name, s):\n'
            '        self.lora_A[name].weight.data.mul_(s)\n',
            'import torch.nn as nn\n'
            'import torch\n'
            '\n'
            '\n'
            'class Adapter(nn.Module):\n'
            '    def __init__(self, r):\n'
            '        super().__init__()\n'
            '        self.lora_A = nn.ModuleDict({})\n'
            '        self.lora_A["default"] = nn.Linear(8, r)\n'
            '\n'
            '    def shrink(self, name, s):\n'
            '        with torch.no_grad():\n'
            '            self.lora_A[name].weight.mul_(s)\n',
            'a LoRA-style `nn.ModuleDict` filled by item assignment: its members are `nn.Linear`s',
        ),
        Invalid(
            'import torch\n'
            '\n'
            '\n'
            'def decay(optimizer: torch.optim.Optimizer, rate):\n'
            '    for group in optimizer.param_groups:\n'
            '        for p in group["params"]:\n'
            '            p.data.mul_(1 - rate)\n',
            'import torch\n'
            '\n'
            '\n'
            'def decay(optimizer: torch.optim.Optimizer, rate):\n'
            '    for group in optimizer.param_groups:\n'
            '        for p in group["params"]:\n'
            '            with torch.no_grad():\n'
            '                p.mul_(1 - rate)\n',
            '`optimizer.param_groups[i]["params"]` are the leaves the optimizer updates',
        ),
        Invalid(
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'def init(m):\n'
            '    if isinstance(m, nn.Linear):\n'
            '        m.bias.data.fill_(0)\n'
            '\n'
            '\n'
            'def build():\n'
            '    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh())\n'
            '    for layer in model.modules():\n'
            '        init(layer)\n'
            '    return model\n',
            'import torch.nn as nn\n'
            'import torch\n'
            '\n'
            '\n'
            'def init(m):\n'
            '    if isinstance(m, nn.Linear):\n'
            '        with torch.no_grad():\n'
            '            m.bias.fill_(0)\n'
            '\n'
            '\n'
            'def build():\n'
            '    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh())\n'
            '    for layer in model.modules():\n'
            '        init(layer)\n'
            '    return model\n',
            'a helper called with each of `model.modules()`, narrowed by `isinstance`',
        ),
        Valid(
            "import torch.nn as nn\n\n\ndef init(m):\n    m.weight.data.zero_()\n\n\nregister(init)\n",
            "`init` is handed to something unknown: what it is called with is unknown",
        ),
        Invalid(
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'def _init_weights(module):\n'
            '    if not isinstance(module, (nn.Linear, nn.Embedding)):\n'
            '        return\n'
            '    module.weight.data.normal_(mean=0.0, std=0.02)\n'
            '\n'
            '\n'
            'class GPT(nn.Module):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.head = nn.Linear(4, 4)\n'
            '        self.apply(_init_weights)\n',
            'import torch.nn as nn\n'
            'import torch\n'
            '\n'
            '\n'
            'def _init_weights(module):\n'
            '    if not isinstance(module, (nn.Linear, nn.Embedding)):\n'
            '        return\n'
            '    with torch.no_grad():\n'
            '        module.weight.normal_(mean=0.0, std=0.02)\n'
            '\n'
            '\n'
            'class GPT(nn.Module):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.head = nn.Linear(4, 4)\n'
            '        self.apply(_init_weights)\n',
            'an init function that returns early unless `isinstance` admits the layer: past the guard it is one',
        ),
        Invalid(
            'import torch\n'
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'class Codebook(nn.Module):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.register_buffer("ema", torch.zeros(8))\n'
            '\n'
            '    def update(self, x, decay):\n'
            '        self.ema.data.mul_(decay).add_(x, alpha=1 - decay)\n',
            'import torch\n'
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'class Codebook(nn.Module):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.register_buffer("ema", torch.zeros(8))\n'
            '\n'
            '    def update(self, x, decay):\n'
            '        with torch.no_grad():\n'
            '            self.ema.mul_(decay).add_(x, alpha=1 - decay)\n',
            'a chain of in-place calls on `.data` (an EMA buffer update): each call writes the same tensor',
        ),
        Invalid(
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'class Head(nn.Module):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.last_layer = nn.utils.weight_norm(nn.Linear(8, 8))\n'
            '        self.last_layer.weight_g.data.fill_(1)\n',
            'import torch.nn as nn\n'
            'import torch\n'
            '\n'
            '\n'
            'class Head(nn.Module):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.last_layer = nn.utils.weight_norm(nn.Linear(8, 8))\n'
            '        with torch.no_grad():\n'
            '            self.last_layer.weight_g.fill_(1)\n',
            '`nn.utils.weight_norm` returns the layer with new parameters `weight_g` and `weight_v`',
        ),
        Invalid(
            'from typing import Dict\n'
            '\n'
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'class Finetuner:\n'
            '    def trainable(self) -> Dict[str, nn.Parameter]:\n'
            '        return {}\n'
            '\n'
            '    def reset(self):\n'
            '        for name, p in self.trainable().items():\n'
            '            p.data[:] = 0\n',
            'from typing import Dict\n'
            '\n'
            'import torch.nn as nn\n'
            'import torch\n'
            '\n'
            '\n'
            'class Finetuner:\n'
            '    def trainable(self) -> Dict[str, nn.Parameter]:\n'
            '        return {}\n'
            '\n'
            '    def reset(self):\n'
            '        for name, p in self.trainable().items():\n'
            '            with torch.no_grad():\n'
            '                p[:] = 0\n',
            'a declared return type (`-> Dict[str, nn.Parameter]`) says what `.items()` yields',
        ),
        Invalid(
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'class Net(nn.Module):\n'
            '    def __init__(self, conv_type):\n'
            '        super().__init__()\n'
            '        self.conv_type = conv_type\n'
            '        for m in self.modules():\n'
            '            if isinstance(m, self.conv_type):\n'
            '                m.weight.data.normal_(0, 0.02)\n',
            'import torch.nn as nn\n'
            'import torch\n'
            '\n'
            '\n'
            'class Net(nn.Module):\n'
            '    def __init__(self, conv_type):\n'
            '        super().__init__()\n'
            '        self.conv_type = conv_type\n'
            '        for m in self.modules():\n'
            '            if isinstance(m, self.conv_type):\n'
            '                with torch.no_grad():\n'
            '                    m.weight.normal_(0, 0.02)\n',
            'a submodule narrowed by `isinstance` against a class held in a variable: the weight read is a parameter',
        ),
        Invalid(
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'class Head(nn.Module):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.fc = nn.Linear(8, 2)\n'
            '\n'
            '\n'
            'class Model(nn.Module):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.head = Head()\n'
            '\n'
            '    def rescale(self, s):\n'
            '        self.head.fc.weight.data.mul_(s)\n',
            'import torch.nn as nn\n'
            'import torch\n'
            '\n'
            '\n'
            'class Head(nn.Module):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.fc = nn.Linear(8, 2)\n'
            '\n'
            '\n'
            'class Model(nn.Module):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.head = Head()\n'
            '\n'
            '    def rescale(self, s):\n'
            '        with torch.no_grad():\n'
            '            self.head.fc.weight.mul_(s)\n',
            '`self.head` is an instance of a class of this file, whose `fc` is an `nn.Linear`',
        ),
        Invalid(
            'import torch.nn as nn\n'
            '\n'
            'actor, actor_targ = nn.Linear(4, 2), nn.Linear(4, 2)\n'
            '\n'
            '\n'
            'def polyak_update(polyak):\n'
            '    for p, p_targ in zip(actor.parameters(), actor_targ.parameters()):\n'
            '        p_targ.data.mul_(polyak)\n'
            '        p_targ.data.add_((1 - polyak) * p.data)\n',
            'import torch.nn as nn\n'
            'import torch\n'
            '\n'
            'actor, actor_targ = nn.Linear(4, 2), nn.Linear(4, 2)\n'
            '\n'
            '\n'
            'def polyak_update(polyak):\n'
            '    for p, p_targ in zip(actor.parameters(), actor_targ.parameters()):\n'
            '        with torch.no_grad():\n'
            '            p_targ.mul_(polyak)\n'
            '            p_targ.add_((1 - polyak) * p.data)\n',
            'the polyak form of a target-network update, through `zip` of two `parameters()`',
        ),
        Invalid(
            "import torch.nn as nn\n\n\nclass Recycler(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.bins = nn.Embedding(15, 8)\n        self.bins.weight[0].detach().zero_()\n",
            "import torch.nn as nn\nimport torch\n\n\nclass Recycler(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.bins = nn.Embedding(15, 8)\n        with torch.no_grad():\n"
            "            self.bins.weight[0].zero_()\n",
            "a `.detach()` write to a row of a parameter (the padding row of an embedding)",
        ),
        Valid(
            "import torch\n\n\ndef copy_into(buffer, values):\n    buffer.detach().copy_(values)\n",
            "`.detach()` on a tensor not known to be a parameter: it shares the version counter, never silently harmful",
        ),
        Valid(
            "import torch\n\n\nclass History:\n    def __init__(self, size):\n        self.size = size\n"
            "        self.slots = None\n\n    def push(self, i, h: torch.Tensor):\n        with torch.no_grad():\n"
            "            if self.slots is None:\n                self.slots = h.new_zeros(self.size, *h.shape)\n"
            "            self.slots.data[i] = h.detach()\n",
            "a buffer made under no_grad, written through `.data` under no_grad: the write skips the version counter "
            "on purpose (earlier slots may be saved for backward)",
        ),
        Invalid(
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'class ScaledLinear(nn.Linear):\n'
            '    def reset_parameters(self):\n'
            '        self.weight.data.normal_(0.0, 0.02)\n'
            '        if self.bias is not None:\n'
            '            self.bias.data.zero_()\n',
            'import torch.nn as nn\n'
            'import torch\n'
            '\n'
            '\n'
            'class ScaledLinear(nn.Linear):\n'
            '    def reset_parameters(self):\n'
            '        with torch.no_grad():\n'
            '            self.weight.normal_(0.0, 0.02)\n'
            '        if self.bias is not None:\n'
            '            with torch.no_grad():\n'
            '                self.bias.zero_()\n',
            "a subclass of a torch layer writes its inherited `self.weight` (torch table: nn.Linear's parameter slots)",
        ),
        Invalid(
            'import torch\n'
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'class Gate(nn.Module):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.register_parameter(name="scale", param=nn.Parameter(torch.ones(3)))\n'
            '        self.scale.data.fill_(0.5)\n',
            'import torch\n'
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'class Gate(nn.Module):\n'
            '    def __init__(self):\n'
            '        super().__init__()\n'
            '        self.register_parameter(name="scale", param=nn.Parameter(torch.ones(3)))\n'
            '        with torch.no_grad():\n'
            '            self.scale.fill_(0.5)\n',
            '`register_parameter` called with keywords registers the parameter all the same',
        ),
        Invalid(
            'import torch.nn as nn\n'
            '\n'
            'rnn = nn.LSTM(8, 16)\n'
            'rnn.weight_hh_l0.data.uniform_(-0.1, 0.1)\n',
            'import torch.nn as nn\n'
            'import torch\n'
            '\n'
            'rnn = nn.LSTM(8, 16)\n'
            'with torch.no_grad():\n'
            '    rnn.weight_hh_l0.uniform_(-0.1, 0.1)\n',
            "torch table: `weight_hh_l0` is one of nn.LSTM's parameter slots",
        ),
        Valid(
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'class TiedLinear(nn.Linear):\n'
            '    @property\n'
            '    def weight(self):\n'
            '        return self.source.weight\n'
            '\n'
            '    def shrink(self):\n'
            '        self.weight.data.mul_(0.5)\n',
            'a subclass that defines `weight` itself (a property here) hides the layer\'s slot',
        ),
        Invalid(
            'class EMA:\n'
            '    def __init__(self, model):\n'
            '        self.params = dict(model.named_parameters())\n'
            '        self.shadow = {k: v.detach().clone() for k, v in self.params.items()}\n'
            '\n'
            '    def swap_in(self):\n'
            '        for name, param in self.params.items():\n'
            '            param.data.copy_(self.shadow[name])\n',
            'import torch\n'
            'class EMA:\n'
            '    def __init__(self, model):\n'
            '        self.params = dict(model.named_parameters())\n'
            '        self.shadow = {k: v.detach().clone() for k, v in self.params.items()}\n'
            '\n'
            '    def swap_in(self):\n'
            '        for name, param in self.params.items():\n'
            '            with torch.no_grad():\n'
            '                param.copy_(self.shadow[name])\n',
            'an EMA helper keeps `dict(model.named_parameters())` on an attribute: its values are parameters',
        ),
        Invalid(
            'import itertools\n'
            '\n'
            '\n'
            'class Averager:\n'
            '    def __init__(self, model, decay):\n'
            '        self.decay = decay\n'
            '        self.tensors = list(itertools.chain(model.parameters(), model.buffers()))\n'
            '\n'
            '    def shrink(self):\n'
            '        for t in self.tensors:\n'
            '            t.data.mul_(self.decay)\n',
            'import itertools\n'
            'import torch\n'
            '\n'
            '\n'
            'class Averager:\n'
            '    def __init__(self, model, decay):\n'
            '        self.decay = decay\n'
            '        self.tensors = list(itertools.chain(model.parameters(), model.buffers()))\n'
            '\n'
            '    def shrink(self):\n'
            '        for t in self.tensors:\n'
            '            with torch.no_grad():\n'
            '                t.mul_(self.decay)\n',
            "`itertools.chain(parameters(), buffers())` kept on an attribute yields the module's tensors",
        ),
        Invalid(
            'import torch.nn as nn\n'
            '\n'
            'online, frozen = nn.Linear(3, 3), nn.Linear(3, 3)\n'
            '\n'
            '\n'
            'def hard_update():\n'
            '    for src, dst in zip(online.parameters(), frozen.parameters(), strict=True):\n'
            '        dst.data.copy_(src.data)\n',
            'import torch.nn as nn\n'
            'import torch\n'
            '\n'
            'online, frozen = nn.Linear(3, 3), nn.Linear(3, 3)\n'
            '\n'
            '\n'
            'def hard_update():\n'
            '    for src, dst in zip(online.parameters(), frozen.parameters(), strict=True):\n'
            '        with torch.no_grad():\n'
            '            dst.copy_(src.data)\n',
            '`zip(..., strict=True)` yields the same pairs: `strict` only decides whether unequal lengths raise',
        ),
        Invalid(
            'import torch.nn as nn\n'
            '\n'
            '\n'
            'class Stack(nn.Module):\n'
            '    def __init__(self, depth):\n'
            '        super().__init__()\n'
            '        self.blocks = nn.ModuleList()\n'
            '        for _ in range(depth):\n'
            '            self.blocks.append(nn.Linear(4, 4))\n'
            '\n'
            '    def reset(self):\n'
            '        for i in range(len(self.blocks)):\n'
            '            layer = self.blocks[i]\n'
            '            layer.weight.data.normal_(0, 0.02)\n',
            'import torch.nn as nn\n'
            'import torch\n'
            '\n'
            '\n'
            'class Stack(nn.Module):\n'
            '    def __init__(self, depth):\n'
            '        super().__init__()\n'
            '        self.blocks = nn.ModuleList()\n'
            '        for _ in range(depth):\n'
            '            self.blocks.append(nn.Linear(4, 4))\n'
            '\n'
            '    def reset(self):\n'
            '        for i in range(len(self.blocks)):\n'
            '            layer = self.blocks[i]\n'
            '            with torch.no_grad():\n'
            '                layer.weight.normal_(0, 0.02)\n',
            'any index of an nn.ModuleList is one of its members, those appended later included',
        ),
        Valid(
            "import torch.nn as nn\n\nemb = nn.Embedding(10, 4)\nemb.bias.data.zero_()\n",
            "torch table: an nn.Embedding has no `bias` slot, so nothing says what `emb.bias` is",
        ),
    )

    scenarios = (Scenario("mlp-init-and-manual-sgd", _SCENARIO),)

    # --- detection -------------------------------------------------------------------------------
    def check(self, model: SemanticModel) -> None:
        writes: dict[int, _Write] = {}
        blocks: dict[int, list[ast.stmt]] = {}
        for statement in (*model.nodes(ast.Expr), *model.nodes(ast.Assign), *model.nodes(ast.AugAssign)):
            write = _write(model, statement)
            if write is None or self.is_suppressed(statement.lineno):
                continue
            writes[id(statement)] = write
            block = _block_of(model, statement)
            blocks.setdefault(id(block), block)
        if not writes:
            return
        # Where a backward pass is in sight: functions that run one, and the forward pass (which the
        # backward follows): `forward` methods and what the file shows they call.
        hazardous = _functions_running_backward(model) | _forward_path(model)
        fixable = {key: write for key, write in writes.items() if write.fixable}
        for block in blocks.values():
            for run in _runs(block, fixable):
                self._report_run(model, run, writes, hazardous)
            for statement in block:
                if id(statement) in writes and id(statement) not in fixable:
                    self.report(statement, _message(writes[id(statement)].kind))  # report only

    def _report_run(self, model: SemanticModel, run: list[ast.stmt], writes, hazardous: set[int]) -> None:
        function = model.function(run[0])
        unsafe = id(function or model.tree) in hazardous or any(
            carries_graph(model, _alias_of(model, s).tensor) for s in run
        )
        applicability = Applicability.UNSAFE if unsafe else Applicability.SAFE
        no_grad = model.under_no_grad(run[0])
        for part in ([s] for s in run) if no_grad else [run]:
            fix_run = _Run(tuple(writes[id(s)] for s in part), no_grad)
            for statement in part:
                self.report(statement, _message(writes[id(statement)].kind), fix=applicability, data=fix_run)

    # --- fixing ----------------------------------------------------------------------------------
    def fix(self, finding, tree) -> Fix | None:
        run: _Run = finding.data
        if tree.alone is finding:
            # Its own fix by itself: the writes on its own line(s) only (a line's writes cannot be split).
            own = tuple(w for w in run.writes if w.range.line <= finding.end_line and w.range.end_line >= finding.line)
            if own != run.writes:
                return _build_fix(_Run(own, run.under_no_grad), tree)
        key = (self.code, id(run))  # every write of a run shares one Fix
        if key not in tree.context.cache:
            tree.context.cache[key] = _build_fix(run, tree)
        return tree.context.cache[key]


# --- detection helpers (ast) ----------------------------------------------------------------------------

def _message(kind: str) -> str:
    if kind == "detach":
        return "In-place write through `.detach()`: write to the tensor under `torch.no_grad()` instead"
    return "In-place write through `.data` hides it from autograd: write under `torch.no_grad()` instead"


def _written(statement: ast.stmt) -> tuple[ast.AST, list[ast.AST]] | None:
    """For `A.m_(args)`, `A[i] = v`, `A op= v`: (A, the expressions read: args or v)."""
    if isinstance(statement, ast.Expr):
        call = statement.value
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            return None
        method = call.func.attr
        if not method.endswith("_") or method.startswith("_") or method in _NOT_WRITES:
            return None
        read = [*call.args, *(k.value for k in call.keywords)]
        receiver = call.func.value
        # `X.data.mul_(a).add_(b)`: an in-place method returns its receiver, so the chain writes X.data twice.
        while isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute) \
                and receiver.func.attr.endswith("_") and not receiver.func.attr.startswith("_") \
                and receiver.func.attr not in _NOT_WRITES:
            read += [*receiver.args, *(k.value for k in receiver.keywords)]
            receiver = receiver.func.value
        return receiver, read
    if isinstance(statement, ast.Assign):
        if len(statement.targets) != 1 or not isinstance(statement.targets[0], ast.Subscript):
            return None  # `w.data = t` swaps the storage: not a plain write
        return statement.targets[0], [statement.value]
    if isinstance(statement, ast.AugAssign):
        return statement.target, [statement.value]
    return None


def _alias_of(model: SemanticModel, statement: ast.stmt):
    written = _written(statement)
    return tensor_alias(model, written[0]) if written else None


def _write(model: SemanticModel, statement: ast.stmt) -> _Write | None:
    written = _written(statement)
    if written is None:
        return None
    found = tensor_alias(model, written[0])
    if found is None or _deliberate_unversioned(model, found, statement):
        return None
    grad_data = tuple(
        model.range(node)
        for read in written[1]
        for node in ast.walk(read)
        if isinstance(node, ast.Attribute) and node.attr == "data" and isinstance(node.value, ast.Attribute)
        and node.value.attr == "grad" and model.dereferenced_value(node.value).is_tensor
    )
    fixable = not (isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Attribute)
                   and isinstance(found.tensor, ast.Name) and not _assignable_here(model, found.tensor.id, statement))
    return _Write(model.range(statement), found.kind, grad_data, fixable)


def _deliberate_unversioned(model: SemanticModel, found, statement: ast.stmt) -> bool:
    """A `.data` write, already under `torch.no_grad()`, to a tensor that the code itself made where autograd was
    off (not a parameter, not a module's registered buffer, never requiring grad). There `.data` changes one thing
    only: the write skips the version counter. Code that turned autograd off for both and still wrote `.data` wants
    exactly that (a shared buffer whose earlier slices an autograd.Function saved), and the fix would make its
    backward raise. A registered buffer written so (plain data) is still reported: there `.data` is habit."""
    if found.kind != "data" or not model.under_no_grad(statement):
        return False
    value = model.dereferenced_value(found.tensor)
    return value.kind is Kind.TENSOR and value.grad is Grad.OFF


def _assignable_here(model: SemanticModel, name: str, statement: ast.stmt) -> bool:
    """True when `name op= v` at `statement` rebinds the same variable that `name` reads: module level, a
    name the function (or class body) binds itself, or one it declares global/nonlocal."""
    scope = model.scope(statement)
    if scope.node is model.tree or scope.bindings.get(name):
        return True
    return any(
        name in declaration.names and model.scope(declaration) is scope
        for declaration in (*model.nodes(ast.Global), *model.nodes(ast.Nonlocal))
    )


def _block_of(model: SemanticModel, statement: ast.stmt) -> list[ast.stmt]:
    parent = model.parent(statement)
    for field in ("body", "orelse", "finalbody"):
        block = getattr(parent, field, None)
        if isinstance(block, list) and any(s is statement for s in block):
            return block
    return [statement]


def _runs(block: list[ast.stmt], writes: dict[int, _Write]) -> list[list[ast.stmt]]:
    """Maximal runs of adjacent writes in `block`. Statements that share a line (`a; b`, or a one-line
    `for ...: a`) go together: a line joins a run only when every statement on it is a write."""
    lines: list[list[ast.stmt]] = []
    for statement in block:
        if lines and statement.lineno == lines[-1][-1].end_lineno:
            lines[-1].append(statement)
        else:
            lines.append([statement])
    runs, run = [], []
    for line in lines:
        if all(id(s) in writes for s in line):
            run.extend(line)
            continue
        if run:
            runs.append(run)
        run = []
    if run:
        runs.append(run)
    return runs


def _functions_running_backward(model: SemanticModel) -> set[int]:
    """The functions (or the module, for top-level code) whose own body runs a backward pass:
    `x.backward()`, `self.manual_backward(x)`, `torch.autograd.backward/grad(...)`."""
    found: set[int] = set()
    for call in model.calls_to_method(*_BACKWARD_METHODS, "grad"):
        if call.func.attr == "grad":
            name = model.qualified_name(call.func) or model.source(call.func)
            if not name.endswith("autograd.grad"):
                continue
        found.add(id(model.function(call) or model.tree))
    return found


def _forward_path(model: SemanticModel) -> set[int]:
    """Functions that run during a forward pass as far as this file shows: every `forward` method, and the
    functions and methods of this file that they call, transitively (`self.altup.predict(x)` in a forward
    reaches `predict` when `self.altup` is an instance of a class of this file)."""
    calls: dict[int, list[ast.Call]] = {}
    for call in model.nodes(ast.Call):
        function = model.function(call)
        if function is not None:
            calls.setdefault(id(function), []).append(call)
    todo = [f for f in model.nodes(*FUNCTIONS) if f.name == "forward"]
    reached: set[int] = set()
    while todo:
        function = todo.pop()
        if id(function) in reached:
            continue
        reached.add(id(function))
        todo.extend(c for c in (_callee(model, call) for call in calls.get(id(function), ())) if c is not None)
    return reached


def _callee(model: SemanticModel, call: ast.Call) -> ast.AST | None:
    """The function of this file that `call` runs, when the file shows it."""
    local = model.local_function(call.func)
    if local is not None or not isinstance(call.func, ast.Attribute):
        return local
    owner = model.value(call.func.value)
    if not (owner.cls or "").startswith("<local>."):
        return None
    classes = list(model.classes_named(owner.cls.split(".", 1)[1]))
    seen = 0
    while len(classes) == 1 and seen < 8:  # the method, in the class or one of its local bases
        cls = classes[0]
        for statement in cls.body:
            if isinstance(statement, FUNCTIONS) and statement.name == call.func.attr:
                return statement
        classes = [b for b in (model.local_class(base) for base in cls.bases) if b is not None][:1]
        seen += 1
    return None


# --- fix building (LibCST) ------------------------------------------------------------------------------

def _build_fix(run: _Run, tree) -> Fix | None:
    rewritten: list[tuple[cst.CSTNode, cst.CSTNode]] = []
    for write in run.writes:
        old = tree.node_at(write.range, cst.Expr, cst.Assign, cst.AugAssign)
        new = _rewrite(old, write, tree) if old is not None else None
        if new is None:
            return None
        rewritten.append((old, new))
    if run.under_no_grad:
        return Fix(tuple(Edit(old, new) for old, new in rewritten), Applicability.SAFE, Effect.PRESERVING)
    replacement = {id(old): new for old, new in rewritten}
    lines: list[cst.CSTNode] = []
    for old, _ in rewritten:
        line = tree.parent(old)
        if not lines or lines[-1] is not line:
            lines.append(line)
    if any(not isinstance(line, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) for line in lines) or any(
        id(small) not in replacement for line in lines for small in line.body
    ):
        return None  # detection saw whole lines of writes; anything else is not this run
    imports = Imports.of(tree.module, tree.context.cache)
    chain = scope_chain(lines[0], tree.parent)
    first = lines[0]
    if isinstance(first, cst.SimpleStatementSuite):  # `for w in ws: w.data.zero_()`: give it a real block
        body = [cst.SimpleStatementLine(body=[replacement[id(s)] for s in first.body],
                                        trailing_whitespace=first.trailing_whitespace)]
        block, added = no_grad_block(imports, chain, body, leading_lines=())
        edits = [Edit(first, cst.IndentedBlock(body=[block]))]
    else:
        body = [line.with_changes(body=[replacement[id(s)] for s in line.body],
                                  leading_lines=[_unindented_if_blank(e) for e in line.leading_lines])
                for line in lines]
        body[0] = body[0].with_changes(leading_lines=())
        block, added = no_grad_block(imports, chain, body, leading_lines=first.leading_lines)
        edits = [Edit(first, block)] + [Edit(line, cst.RemovalSentinel.REMOVE) for line in lines[1:]]
    return Fix(tuple(edits), Applicability.SAFE, Effect.PRESERVING, imports=tuple(added))


def _unindented_if_blank(line: cst.EmptyLine) -> cst.EmptyLine:
    """A blank line moved into the new block stays blank (no trailing indentation)."""
    return line.with_changes(indent=False) if line.comment is None else line


def _rewrite(small: cst.CSTNode, write: _Write, tree) -> cst.CSTNode | None:
    """The statement without its alias (and without `.data` on the `p.grad` reads detection marked)."""
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and isinstance(small.value.func, cst.Attribute):
        value = _strip_chain(small.value)
        if value is None:
            return None
        new = small.with_changes(value=value)
    elif isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = _strip_alias(small.targets[0].target)
        if target is None:
            return None
        new = small.with_changes(targets=[small.targets[0].with_changes(target=target)])
    elif isinstance(small, cst.AugAssign):
        target = _strip_alias(small.target)
        if target is None:
            return None
        new = small.with_changes(target=target)
    else:
        return None
    for where in write.grad_data:
        read = tree.node_at(where, cst.Attribute)
        if read is not None:
            new = new.deep_replace(read, read.value)  # `p.grad.data` -> `p.grad`, read under no_grad
    return new


def _strip_chain(call: cst.Call) -> cst.Call | None:
    """`X.data.m_(a)` -> `X.m_(a)`, and through a chain of in-place calls: `X.data.mul_(a).add_(b)`."""
    receiver = call.func.value
    if isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute) and _strip_alias(receiver) is None:
        inner = _strip_chain(receiver)
    else:
        inner = _strip_alias(receiver)
    if inner is None:
        return None
    return call.with_changes(func=call.func.with_changes(value=inner),
                             args=_modernise(call.func.attr.value, list(call.args)))


def _strip_alias(expr: cst.BaseExpression) -> cst.BaseExpression | None:
    """`X.detach()` / `X.data` (optionally indexed) -> `X` / `X[...]`."""
    if isinstance(expr, cst.Subscript):
        inner = _strip_alias(expr.value)
        return None if inner is None else expr.with_changes(value=inner)
    if isinstance(expr, cst.Call) and not expr.args and isinstance(expr.func, cst.Attribute) \
            and expr.func.attr.value == "detach":
        return expr.func.value
    if isinstance(expr, cst.Attribute) and expr.attr.value == "data":
        return expr.value
    return None


def _modernise(method: str, args: list[cst.Arg]) -> list[cst.Arg]:
    """`add_(alpha, other)` -> `add_(other, alpha=alpha)`: the deprecated scalar-first overloads."""
    if method not in _SCALAR_FIRST:
        return args
    keyword, count = _SCALAR_FIRST[method]
    if len(args) != count or any(a.keyword is not None or a.star for a in args):
        return args
    scalar, *tensors = args
    return [cst.Arg(value=t.value) for t in tensors] + [
        cst.Arg(
            value=scalar.value,
            keyword=cst.Name(keyword),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
            ),
        )
    ]
