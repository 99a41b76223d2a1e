"""GF303: in-place write to the output of an op that autograd saved (ReLU, Sigmoid, Tanh, Softmax, exp, ...)."""
from __future__ import annotations


from autofix.rule import AllOf, Applicability, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import SemanticModel
from codemods._inplace import (
    autograd_off,
    carries_no_graph,
    graph_in_sight,
    has_out_of_place_twin,
    inplace_writes,
    out_of_place_fix,
    saved_output,
    saver_of_target,
    written_statement,
)

_SCENARIO = """\
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
    Finds an in-place write (`out += identity`, `w /= w.sum(-1, keepdim=True)`, `out.mul_(s)`, `p[m] = 0`) to
    the output of an op that saves its output for backward, or to a view of it (`.view()`, `.transpose()`,
    `[:, :k]`, and `.to()`/`.float()`, which return the same tensor when nothing changes). The ops, each
    checked on torch 2.13:

    - `relu`, `sigmoid` (`torch.special.expit`), `tanh`, `softmax`, `log_softmax`, `exp`, `exp2`, `expm1`,
      `sqrt`, `rsqrt`, `reciprocal`, as `torch.*` / `F.*` functions or tensor methods, and their in-place forms
      (`relu_`, `F.relu(x, inplace=True)`);
    - `elu`, `leaky_relu`, `selu`, `celu` only with `inplace=True`;
    - the modules `nn.ReLU`, `nn.Sigmoid`, `nn.Tanh`, `nn.Softmax`, `nn.LogSoftmax` (and `nn.ELU`,
      `nn.LeakyReLU`, `nn.SELU`, `nn.CELU` built with `inplace=True`), wherever the file assigns them:
      `self.act = nn.ReLU()` in `__init__` makes `self.act(x)` a ReLU output.

    Also finds an in-place write whose right side saved the written tensor itself: `x += self.conv(x)`,
    `x += self.mlp(self.norm(x))`, `x.add_(x @ w)`. Layers with a trainable weight (`nn.Linear`, `nn.Conv*d`,
    `nn.ConvTranspose*d`, `nn.LayerNorm`, `nn.GroupNorm`, `nn.BatchNorm*d`, `nn.InstanceNorm*d`,
    `nn.Bilinear`) keep their input to compute the weight's gradient; `F.linear`, `F.conv*`, the norms,
    `matmul`/`@`, and GELU, SiLU, Mish, Softplus, ELU, LeakyReLU, Hardswish, RMSNorm keep it for the input's
    own gradient (then only when the file shows a graph).

    ## Why is this bad?
    These ops compute their gradient from their output (or, for the second shape, from their input). Overwriting it makes `backward()` raise "one of the
    variables needed for gradient computation has been modified by an inplace operation" (autograd facts
    "x = relu(x); x += identity raises at backward" and "an in-place /= on a softmax output raises at
    backward"). A typical latent case is an MoE router that renormalises its softmax weights in place: it
    works under `no_grad` and fails the first time someone trains it.

    GELU, SiLU, Mish, Hardswish, Softplus, ReLU6 and out-of-place LeakyReLU/ELU save their input, so the same
    text is safe with them (fact "the same residual after SiLU is fine"). torchvision's BasicBlock is safe:
    it adds the identity to the BatchNorm output, then applies ReLU. `topk`, `gather` and indexing with a
    tensor return new tensors, so writing to `torch.topk(softmax(...), k).values` is fine too.

    Reported where the file shows a graph may be there: the model knows the output requires grad (it was
    computed from a parameter or a layer's output), or the write is in a module's forward pass (a `forward`
    method, or a method of an `nn.Module` subclass). Not reported: outputs that carry no graph (computed from
    a `.detach()`ed tensor, under `torch.no_grad()` or `inference_mode()`, or inside a custom
    `autograd.Function`'s `forward`, where autograd is off); writes where autograd is off; post-processing
    helpers outside any module whose inputs are of unknown origin (an image processor zeroing suppressed
    scores after NMS): nothing there says a backward pass runs through them.

    ## Example
    ```python
    weights = F.softmax(router_logits, dim=-1)
    weights /= weights.sum(dim=-1, keepdim=True)
    ```

    ## Use instead
    ```python
    weights = F.softmax(router_logits, dim=-1)
    weights = weights / weights.sum(dim=-1, keepdim=True)
    ```

    ## Runtime
    Raises at `backward()`: "one of the variables needed for gradient computation has been modified by an
    inplace operation".

    ## Fix safety
    Safe and repairing: the write becomes out of place (`out = out + identity`, `s = s.mul(h)`): the same
    values in one new tensor, which is what the in-place form had to keep alive for backward anyway. An
    indexed write gets `p = p.clone()` before it, one copy the size of `p`; inside a loop that copy would
    run every iteration, so there the fix is offered as unsafe, to review. Writes with no out-of-place twin
    (`.zero_()`, `.fill_()`, `.copy_()` on the whole tensor) are reported without a fix.
    """

    code = "GF303"
    name = "inplace-on-saved-output"
    message = "In-place write to the output of an op that saved it for backward()"
    runtime = 'raises at backward(): "one of the variables needed for gradient computation has been modified"'
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = AllOf(
        # an op that saves its output or its input, and an in-place write
        r"relu|sigmoid|expit|tanh|softmax|exp|sqrt|reciprocal|ReLU|Sigmoid|Tanh|Softmax|elu|ELU"
        r"|Linear|linear|Conv|conv|Norm|norm|mm|matmul|einsum|@|gelu|GELU|silu|SiLU|mish|Mish|softplus|Softplus"
        r"|hardswish|Hardswish", r"[-+*/%@&|^]=|\.\w+_\(|\]\s*=[^=]"
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
            "import torch\nimport torch.nn as nn\n\ndef gate(h, x, layer: nn.Linear):\n    s = torch.sigmoid(layer(x))\n"
            "    s.mul_(h)\n    return s\n",
            "import torch\nimport torch.nn as nn\n\ndef gate(h, x, layer: nn.Linear):\n    s = torch.sigmoid(layer(x))\n"
            "    s = s.mul(h)\n    return s\n",
            "torch.sigmoid, then an in-place method",
        ),
        Invalid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Attention(nn.Module):\n"
            "    def attend(self, scores, mask):\n        p = F.softmax(scores, dim=-1)\n        p[mask] = 0\n        return p\n",
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Attention(nn.Module):\n"
            "    def attend(self, scores, mask):\n        p = F.softmax(scores, dim=-1)\n        p = p.clone()\n"
            "        p[mask] = 0\n        return p\n",
            "an indexed write to softmax probabilities",
        ),
        Invalid(
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass ProductKeyRouter(nn.Module):\n"
            "    def __init__(self, dim, n_experts, k):\n        super().__init__()\n"
            "        self.score = nn.Linear(dim, n_experts)\n        self.k = k\n\n"
            "    def forward(self, tokens):\n        best, chosen = self.score(tokens).topk(self.k, dim=-1)\n"
            "        gate = F.softmax(best, dim=-1)\n        if self.renormalise:\n"
            "            gate /= gate.sum(dim=-1, keepdim=True)\n        return gate, chosen\n",
            "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass ProductKeyRouter(nn.Module):\n"
            "    def __init__(self, dim, n_experts, k):\n        super().__init__()\n"
            "        self.score = nn.Linear(dim, n_experts)\n        self.k = k\n\n"
            "    def forward(self, tokens):\n        best, chosen = self.score(tokens).topk(self.k, dim=-1)\n"
            "        gate = F.softmax(best, dim=-1)\n        if self.renormalise:\n"
            "            gate = gate / gate.sum(dim=-1, keepdim=True)\n        return gate, chosen\n",
            "an MoE router renormalising its softmax weights in place",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass Gate(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.squash = nn.Tanh()\n\n    def forward(self, x, bias):\n"
            "        y = self.squash(x).transpose(0, 1)\n        y.add_(bias)\n        return y\n",
            "import torch\nimport torch.nn as nn\n\n\nclass Gate(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.squash = nn.Tanh()\n\n    def forward(self, x, bias):\n"
            "        y = self.squash(x).transpose(0, 1)\n        y = y.add(bias)\n        return y\n",
            "a view of an nn.Tanh output assigned in __init__",
        ),
        Invalid(
            "import torch\n\nweight = torch.randn(4, 8, requires_grad=True)\n\ndef normalise_rows(x, masks):\n"
            "    for mask in masks:\n        probs = (x @ weight).softmax(-1)\n        probs[mask] = 0.0\n        yield probs\n",
            None,
            "an indexed write in a loop: the clone is offered as an unsafe fix only",
            unsafe_after="import torch\n\nweight = torch.randn(4, 8, requires_grad=True)\n\ndef normalise_rows(x, masks):\n"
            "    for mask in masks:\n        probs = (x @ weight).softmax(-1)\n        probs = probs.clone()\n"
            "        probs[mask] = 0.0\n        yield probs\n",
        ),
        Invalid(
            "import torch.nn as nn\n\n\nclass ConvResidual(nn.Module):\n    def __init__(self, channels):\n"
            "        super().__init__()\n        self.conv = nn.Conv2d(channels, channels, 3, padding=1)\n\n"
            "    def forward(self, x):\n        x += self.conv(x)\n        return x\n",
            "import torch.nn as nn\n\n\nclass ConvResidual(nn.Module):\n    def __init__(self, channels):\n"
            "        super().__init__()\n        self.conv = nn.Conv2d(channels, channels, 3, padding=1)\n\n"
            "    def forward(self, x):\n        x = x + self.conv(x)\n        return x\n",
            "x += conv(x): the convolution saved x to compute its weight's gradient",
        ),
        Invalid(
            "import torch.nn as nn\n\n\nclass PreNormBlock(nn.Module):\n    def __init__(self, dim, mlp):\n"
            "        super().__init__()\n        self.norm = nn.LayerNorm(dim)\n        self.mlp = mlp\n\n"
            "    def forward(self, x):\n        x += self.mlp(self.norm(x))\n        return x\n",
            "import torch.nn as nn\n\n\nclass PreNormBlock(nn.Module):\n    def __init__(self, dim, mlp):\n"
            "        super().__init__()\n        self.norm = nn.LayerNorm(dim)\n        self.mlp = mlp\n\n"
            "    def forward(self, x):\n        x = x + self.mlp(self.norm(x))\n        return x\n",
            "x += f(norm(x)): LayerNorm saved x",
        ),
        Valid(
            "import torch.nn as nn\n\n\nclass CrossAdd(nn.Module):\n    def __init__(self, dim):\n        super().__init__()\n"
            "        self.proj = nn.Linear(dim, dim)\n        self.drop = nn.Dropout(0.1)\n\n    def forward(self, x, context):\n"
            "        x += self.proj(context)\n        x += self.drop(x)\n        return x\n",
            "the layer saved another tensor; dropout keeps a mask, not x",
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
        Valid("import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Mix(nn.Module):\n    def forward(self, x, r):\n"
              "        out = F.silu(x)\n        out += r\n        out = F.gelu(out)\n        out += r\n        return out\n",
              "SiLU and GELU save their input"),
        Valid(
            "import torch.nn as nn\n\n\nclass GatedUnit(nn.Module):\n    def __init__(self, dim):\n"
            "        super().__init__()\n        self.proj = nn.Linear(dim, dim)\n        self.act = nn.SiLU()\n\n"
            "    def forward(self, x):\n        h = self.act(self.proj(x))\n        h *= x\n        return h\n",
            "self.act = nn.SiLU() in __init__: self.act(x) is a SiLU output, which is not saved",
        ),
        Valid("import torch\nimport torch.nn as nn\n\n\nclass Probe(nn.Module):\n    def forward(self, x):\n"
              "        with torch.no_grad():\n            y = torch.relu(x)\n            y += 1\n        return y\n",
              "under torch.no_grad()"),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass Explainer(nn.Module):\n"
            "    def keep_salient(self, attribution: torch.Tensor, keep):\n        weights = attribution.detach()\n"
            "        weights = weights.sigmoid()\n        weights[~keep] = 0.0\n        return weights\n",
            "a sigmoid of a detached tensor: its output requires no grad, nothing was saved",
        ),
        Valid(
            "import torch\n\n\nclass ScaledTanh(torch.autograd.Function):\n    @staticmethod\n"
            "    def forward(ctx, x, scale):\n        y = torch.tanh(x)\n        ctx.save_for_backward(y)\n"
            "        y *= scale\n        return y\n\n    @staticmethod\n    def backward(ctx, grad):\n"
            "        (y,) = ctx.saved_tensors\n        return grad * (1 - y * y), None\n",
            "inside a custom autograd.Function's forward autograd is off: nothing was saved by tanh",
        ),
        Valid(
            "import torch\n\n\nclass DetectionPostProcessor:\n    def suppress(self, outputs, overlaps, threshold):\n"
            "        scores = torch.sigmoid(outputs.logits.max(dim=-1).values)\n        for i in range(len(scores)):\n"
            "            scores[i][overlaps[i] > threshold] = 0.0\n        return scores\n",
            "post-processing outside any module, on outputs of unknown origin: no backward runs through it in sight",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Top2(nn.Module):\n"
            "    def forward(self, logits):\n        probs = F.softmax(logits, dim=-1)\n"
            "        weights, experts = torch.topk(probs, 2, dim=-1)\n        weights /= weights.sum(dim=-1, keepdim=True)\n"
            "        return weights, experts\n",
            "topk returns new tensors: renormalising the top-k weights in place is fine",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass Head(nn.Module):\n    def forward(self, x):\n"
            "        if not self.training:\n            probs = torch.softmax(x, -1)\n            probs /= 2\n"
            "            return probs\n        return x\n",
            "an evaluation-only branch (`if not self.training:`): nothing runs backward there",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass Aligner(nn.Module):\n    def forward(self, scores, lengths):\n"
            "        n = scores.size(1)\n        mask = torch.arange(n)[None] < lengths[:, None]\n"
            "        prior = torch.cat([torch.eye(n), torch.zeros(n, n)], 0)\n"
            "        logp = torch.log_softmax(prior, dim=-1)\n        logp[~mask] = 0\n        return logp\n",
            "plain data (factories without requires_grad, comparisons, cat of them): no graph to save",
        ),
        Valid(
            "import torch\nimport torch.nn as nn\n\n\nclass Head(nn.Module):\n    def forward(self, x):\n"
            "        if not self.training and self.prefilter:\n            probs = torch.softmax(x, -1)\n"
            "            probs /= 2\n            return probs\n        return x\n",
            "an evaluation-only branch written as a conjunction: the test is False whenever the module trains",
        ),
    )
    scenarios = (Scenario("residual-block-add-after-relu", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        for write in inplace_writes(model, self.context.cache):
            if autograd_off(model, write.statement) or model.training_mode(write.statement) is False:
                continue  # nothing runs backward here (`if not self.training:` is inference-only code)
            op = saved_output(model, write.base)
            if op is None or carries_no_graph(model, write.base) or not graph_in_sight(model, write.base, write.statement):
                saver = saver_of_target(model, write)
                if saver is not None:
                    self.report(write.statement, f"In-place write to `{write.name}`, which `{model.source(saver)}` on the "
                                "right side saved for backward(): backward() will raise",
                                fix=Applicability.SAFE if has_out_of_place_twin(write) else None)
                continue
            what = model.source(write.base)
            if write.kind == "subscript":
                # An indexed write needs a clone first: one copy, fine once, not on every turn of a loop.
                fix = Applicability.UNSAFE if model.enclosing_loops(write.statement) else Applicability.SAFE
                fix = fix if write.name is not None else None
            else:
                fix = Applicability.SAFE if has_out_of_place_twin(write) else None
            self.report(
                write.statement,
                f"In-place write to `{what}`, the output of {op}, which autograd saved: backward() will raise",
                fix=fix,
            )

    def fix(self, finding, tree) -> Fix | None:
        small = written_statement(finding, tree)
        return out_of_place_fix(small, tree) if small is not None else None
