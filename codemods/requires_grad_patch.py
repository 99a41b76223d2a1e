"""GF203: `loss.requires_grad = True` (or `requires_grad_()`) patched onto a loss cut from the graph upstream."""
from __future__ import annotations

import re

from autofix.rule import Applicability, Invalid, Rule, Valid
from codemods._lossflow import PATCH_TEXT, LossFlowRule, Problem, describe


class RequiresGradPatch(LossFlowRule, Rule):
    """
    ## What it does
    Finds `loss.requires_grad = True` / `loss.requires_grad_()` applied to a tensor that reaches
    `backward()` with no path to any parameter, and points at the upstream cut. Also in a function with no
    `backward()` whose caller trains on what it returns (a `forward`, a `training_step`, a loss helper), when
    the returned value is such a patched tensor cut from a module's output (for example through NumPy).

    ## Why is this bad?
    On a tensor that still has its graph, setting `requires_grad` raises "you can only change requires_grad
    flags of leaf variables". So where the line runs without error, the graph was already cut upstream
    (`.item()`, `.numpy()`, `argmax`, `.detach()`, a `torch.no_grad()` block, `generate()`). The patch only
    silences "element 0 of tensors does not require grad": `backward()` then succeeds and nothing trains.

    ## Example
    ```python
    pred = model(x).argmax(-1).float()
    loss = F.mse_loss(pred, y)
    loss.requires_grad = True
    loss.backward()
    ```

    ## Use instead
    Compute the loss from differentiable outputs (logits with `cross_entropy` instead of `argmax`), and
    drop the patch.

    ## Runtime
    Silent: `backward()` succeeds and every parameter's `.grad` stays `None`.

    ## Fix safety
    No automatic fix: the real bug is the upstream cut, and what the loss should have been is a modelling
    decision. The message names the cut and its line.
    """

    code = "GF203"
    name = "requires-grad-patch"
    message = "requires_grad patched onto a loss that was cut from the graph upstream"
    runtime = "silent: backward() succeeds and every parameter's .grad stays None"
    fix_applicability = Applicability.NONE
    fix_effect = None
    prefilter = re.compile(PATCH_TEXT)

    examples = (
        Invalid(
            "import torch.nn.functional as F\n\nfor x, y in loader:\n    pred = model(x).argmax(-1).float()\n"
            "    loss = F.mse_loss(pred, y)\n    loss.requires_grad = True\n    loss.backward()\n",
            None,
            "argmax upstream, patch downstream",
        ),
        Invalid(
            "import torch.nn as nn\n\ncriterion = nn.MSELoss()\nfor batch in loader:\n"
            "    loss = criterion(model(batch).detach(), batch)\n    loss.requires_grad_()\n    loss.backward()\n",
            None,
            "a detach upstream: GF201 reports it but cannot fix it while the patch stands",
        ),
        Valid(
            "import torch\n\nx = torch.randn(8, 3)\nx.requires_grad_()\nloss = model(x).sum()\nloss.backward()\n",
            "input gradients (saliency): the model connects",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass Scorer(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.body = nn.Linear(4, 1)\n\n    def forward(self, x):\n"
            "        scores = self.body(x).detach().cpu().numpy()\n"
            "        return torch.from_numpy(scores).requires_grad_()\n",
            None,
            "a forward's output through NumPy, patched back into a leaf and returned",
        ),
        Valid(
            "import numpy as np\nimport torch\n\ndef as_leaf(path):\n    t = torch.from_numpy(np.load(path))\n"
            "    t.requires_grad_()\n    return t\n",
            "a leaf made from data loaded from disk: nothing was cut",
        ),
    )

    def __init__(self, context) -> None:
        super().__init__(context)
        self._reported: set[int] = set()

    def problem(self, problem: Problem) -> None:
        for patch in problem.patches:
            if id(patch) in self._reported:
                continue
            self._reported.add(id(patch))
            self.report(
                patch,
                f"requires_grad patched onto a value cut from the graph by {describe(problem.cut)} at line "
                f"{problem.cut.node.lineno}: {problem.where} trains nothing",
            )
