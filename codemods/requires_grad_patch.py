"""GF203: `loss.requires_grad = True` (or `requires_grad_()`) patched onto a loss cut from the graph upstream."""
from __future__ import annotations

import re

from autofix.rule import Applicability, Invalid, Rule, Valid
from codemods._lossflow import LossFlowRule, Problem, describe, prefilter_with


class RequiresGradPatch(LossFlowRule, Rule):
    """
    ## What it does
    Finds `loss.requires_grad = True` / `loss.requires_grad_()` applied to a tensor that reaches
    `backward()` with no path to any parameter, and points at the upstream cut.

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
    prefilter = prefilter_with("requires_grad")

    examples = (
        Invalid(
            "import torch.nn.functional as F\n\nfor x, y in loader:\n    pred = model(x).argmax(-1).float()\n"
            "    loss = F.mse_loss(pred, y)\n    loss.requires_grad = True\n    loss.backward()\n",
            None,
            "argmax upstream, patch downstream",
        ),
        Invalid(
            "for batch in loader:\n    loss = criterion(model(batch).detach(), batch)\n    loss.requires_grad_()\n"
            "    loss.backward()\n",
            None,
            "a detach upstream: GF201 reports it but cannot fix it while the patch stands",
        ),
        Valid(
            "import torch\n\nx = torch.randn(8, 3)\nx.requires_grad_()\nloss = model(x).sum()\nloss.backward()\n",
            "input gradients (saliency): the model connects",
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
                f"requires_grad patched onto a loss cut from the graph by {describe(problem.cut)} at line "
                f"{problem.cut.node.lineno}: backward() at line {problem.backward.lineno} trains nothing",
            )
