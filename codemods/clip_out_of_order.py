"""GF603: gradient clipping before backward(), after step(), or before a GradScaler's unscale_()."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from autofix.lazy import libcst as cst
from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import Range, SemanticModel, dotted
from codemods._amp import is_scaler, scaled_by, scaler_method
from codemods._steps import (
    Evidence, Move, backward_kind, block_of, build_move, contains, independent, manual_update, method_call,
    plan_move,
)

CLIPS = frozenset(
    f"torch.nn.utils.{module}{name}"
    for module in ("", "clip_grad.")
    for name in ("clip_grad_norm_", "clip_grad_value_", "clip_grad_norm")
)
# Statements that only run in order (no branch, loop or handler): a move across them is a move in one iteration.
_STRAIGHT = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.With, ast.AsyncWith, ast.Pass)

_CLIP_BEFORE_BACKWARD = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(5)

model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1)).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(128, 8, generator=g).to(device)
y = (x ** 2).sum(dim=1, keepdim=True)
for step in range(10):
    optimizer.zero_grad()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
"""

_CLIP_BEFORE_UNSCALE = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(6)

model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
# A small loss scale keeps the damage measurable in a few steps (the default, 65536, clips 256x harder still).
scaler = torch.amp.GradScaler(device, init_scale=2.0 ** 8)
x = torch.randn(128, 16, generator=g).to(device)
y = (x @ torch.randn(16, 4, generator=g).to(device)).argmax(dim=1)
for step in range(10):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    scaler.scale(loss).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    scaler.step(optimizer)
    scaler.update()
"""


@dataclass(frozen=True)
class Insert:
    """Insert `statement` just before the statement at `before` (which keeps its place and gives up its comments)."""

    statement: str
    before: Range


class ClipOutOfOrder(Rule):
    """
    ## What it does
    Finds `torch.nn.utils.clip_grad_norm_` / `clip_grad_value_` (any import spelling) in the wrong place of a
    training step:
    - before the `backward()` whose gradients the next `step()` uses;
    - after the `step()` that used the gradients (and before the next `backward()`, or at the end of the step);
    - with a `GradScaler`, after `scaler.scale(loss).backward()` but before `scaler.unscale_(optimizer)` (or with
      no `unscale_` at all before `scaler.step(optimizer)`).
    A clip counts as the one an `if` holds when the `if` holds nothing else of the step (`if max_norm: clip...`).

    What counts as an optimizer step is what GF401/GF402 count (`codemods/_steps.py`): an optimizer the semantic
    model knows, or a receiver the file clears with `zero_grad()` or gives to a scheduler; `scaler.step(opt)`.
    A GradScaler is what the file shows was built as one (`torch.amp.GradScaler(...)`, `torch.cuda.amp...`, an
    annotation) or, where it does not show that, a receiver whose `scale(loss)` is backward()ed and that steps or
    unscales the optimizer in the same block. A scaler built with `enabled=False` is not reported.

    ## Why is this bad?
    - Clipping before `backward()` clips the previous step's gradients (or nothing, after `zero_grad()`);
      `backward()` then writes fresh, unclipped ones, and `step()` applies them (autograd fact "clip_grad_norm_
      before backward() clips nothing that step() uses"). Clipping after `step()` clips gradients that were
      already applied. Either way the clipping that was meant to stabilise training does nothing.
    - A GradScaler multiplies the loss by its scale (65,536 at first) so the gradients are that much too large
      until `unscale_()`. Clipping them before measures the scaled norm (autograd fact "with a GradScaler,
      clipping before unscale_() measures the scaled norm (clips about 65536x too hard)"): once
      `scaler.step()` unscales them, every update has a gradient norm of at most `max_norm / scale`, and
      training all but stops (SGD; Adam's normalisation hides much of it).

    ## Example
    ```python
    scaler.scale(loss).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    ```

    ## Use instead
    ```python
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    ```

    ## Runtime
    Silent: the clipping has no effect, or (GradScaler) clips every update almost to nothing.

    ## Fix safety
    Safe and repairing, where the step is plain: the backward, the clip and the step are in one block, and the
    statements the fix crosses are straight-line (no `if`, loop or `try`) and independent of the clip (the
    check GF401 uses: the clip neither reads nor writes a name they write, nor writes a name they read).
    - A clip before `backward()` moves to just after it (after `scaler.unscale_()` if one follows).
    - A clip after `step()` moves to just before it.
    - A clip before `scaler.unscale_(opt)` moves to just after it; with no `unscale_` before
      `scaler.step(opt)`, the fix inserts `scaler.unscale_(opt)` before the clip. `scaler.step()` does not
      unscale twice, and skips the step on inf/NaN gradients as before, so only the clipping changes.
    The fix changes training (clipping now acts), which is the point. Otherwise it reports without a fix:
    a clip between two steps (which backward it belongs to is unclear), one that would still come before
    `unscale_()` after the move, or a move across branches.

    ## Effect
    Repairing: the clip measures and clips the gradients the step applies (unscaled).
    """

    code = "GF603"
    name = "clip-out-of-order"
    message = "gradient clipping out of order: it clips nothing that step() uses"
    runtime = "silent: clipping does nothing, or (GradScaler) clips every update almost to nothing"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    prefilter = re.compile(r"clip_grad_")

    examples = (
        Invalid(
            "import torch\n\nfor x, y in loader:\n    optimizer.zero_grad()\n"
            "    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    loss = criterion(model(x), y)\n"
            "    loss.backward()\n    optimizer.step()\n",
            "import torch\n\nfor x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n"
            "    loss.backward()\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    optimizer.step()\n",
            "clip before backward(): it moves after it",
        ),
        Invalid(
            "from torch.nn.utils import clip_grad_value_\n\nfor x, y in loader:\n    optimizer.zero_grad()\n"
            "    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n"
            "    clip_grad_value_(model.parameters(), 0.5)  # keep updates small\n",
            "from torch.nn.utils import clip_grad_value_\n\nfor x, y in loader:\n    optimizer.zero_grad()\n"
            "    loss = criterion(model(x), y)\n    loss.backward()\n"
            "    clip_grad_value_(model.parameters(), 0.5)  # keep updates small\n    optimizer.step()\n",
            "clip_grad_value_ after step(), imported by name: it moves before the step, with its comment",
        ),
        Invalid(
            "import torch\nfrom torch import nn\n\nscaler = torch.cuda.amp.GradScaler()\nfor x, y in loader:\n"
            "    optimizer.zero_grad()\n    with torch.autocast('cuda'):\n        loss = criterion(model(x), y)\n"
            "    scaler.scale(loss).backward()\n    # clip\n    nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n"
            "    scaler.step(optimizer)\n    scaler.update()\n",
            "import torch\nfrom torch import nn\n\nscaler = torch.cuda.amp.GradScaler()\nfor x, y in loader:\n"
            "    optimizer.zero_grad()\n    with torch.autocast('cuda'):\n        loss = criterion(model(x), y)\n"
            "    scaler.scale(loss).backward()\n    # clip\n    scaler.unscale_(optimizer)\n"
            "    nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    scaler.step(optimizer)\n    scaler.update()\n",
            "GradScaler with no unscale_(): the fix inserts it before the clip",
        ),
        Invalid(
            "import torch\n\n\nclass Trainer:\n    def __init__(self, model, optimizer):\n        self.model = model\n"
            "        self.optimizer = optimizer\n        self.scaler = torch.amp.GradScaler('cuda')\n\n"
            "    def train_step(self, loss):\n        self.scaler.scale(loss).backward()\n"
            "        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)\n"
            "        self.scaler.unscale_(self.optimizer)\n        self.scaler.step(self.optimizer)\n"
            "        self.scaler.update()\n        return norm\n",
            "import torch\n\n\nclass Trainer:\n    def __init__(self, model, optimizer):\n        self.model = model\n"
            "        self.optimizer = optimizer\n        self.scaler = torch.amp.GradScaler('cuda')\n\n"
            "    def train_step(self, loss):\n        self.scaler.scale(loss).backward()\n"
            "        self.scaler.unscale_(self.optimizer)\n"
            "        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)\n"
            "        self.scaler.step(self.optimizer)\n        self.scaler.update()\n        return norm\n",
            "clip before unscale_() on a scaler held by a trainer: the clip moves after it",
        ),
        Invalid(
            "import torch\n\n\nclass Runner:\n    def __init__(self, net, opt, amp):\n        self.net, self.opt = net, opt\n"
            "        self.amp = amp\n        self.scaler = torch.amp.GradScaler('cuda', enabled=amp)\n\n"
            "    def step(self, loss):\n        self.opt.zero_grad()\n        if self.amp:\n"
            "            self.scaler.scale(loss).backward()\n            torch.nn.utils.clip_grad_norm_(self.net.parameters(), 5.0)\n"
            "            self.scaler.step(self.opt)\n            self.scaler.update()\n        else:\n"
            "            loss.backward()\n            torch.nn.utils.clip_grad_norm_(self.net.parameters(), 5.0)\n"
            "            self.opt.step()\n",
            "import torch\n\n\nclass Runner:\n    def __init__(self, net, opt, amp):\n        self.net, self.opt = net, opt\n"
            "        self.amp = amp\n        self.scaler = torch.amp.GradScaler('cuda', enabled=amp)\n\n"
            "    def step(self, loss):\n        self.opt.zero_grad()\n        if self.amp:\n"
            "            self.scaler.scale(loss).backward()\n            self.scaler.unscale_(self.opt)\n"
            "            torch.nn.utils.clip_grad_norm_(self.net.parameters(), 5.0)\n"
            "            self.scaler.step(self.opt)\n            self.scaler.update()\n        else:\n"
            "            loss.backward()\n            torch.nn.utils.clip_grad_norm_(self.net.parameters(), 5.0)\n"
            "            self.opt.step()\n",
            "the AMP branch of a trainer forgets unscale_(); its plain branch is right (the shape found in pytorch/examples)",
        ),
        Invalid(
            "import torch\n\nfor x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n"
            "    scaler.scale(loss).backward()\n    if max_norm:\n"
            "        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n    scaler.step(optimizer)\n"
            "    scaler.update()\n",
            "import torch\n\nfor x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n"
            "    scaler.scale(loss).backward()\n    if max_norm:\n        scaler.unscale_(optimizer)\n"
            "        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n    scaler.step(optimizer)\n"
            "    scaler.update()\n",
            "a conditional clip, and a scaler known by its call shapes",
        ),
        Invalid(
            "import torch\n\nfor x, y in loader:\n    opt_d.zero_grad()\n    d_loss.backward()\n    opt_d.step()\n"
            "    torch.nn.utils.clip_grad_norm_(G.parameters(), 1.0)\n    opt_g.zero_grad()\n    g_loss.backward()\n"
            "    opt_g.step()\n",
            None,
            "a clip between two steps: reported, no fix (which backward it belongs to is unclear)",
        ),
        Invalid(
            "import torch\n\nfor x, y in loader:\n    optimizer.zero_grad()\n"
            "    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    try:\n"
            "        loss = criterion(model(x), y)\n    except ValueError:\n        continue\n"
            "    loss.backward()\n    optimizer.step()\n",
            None,
            "the move would cross a try block: reported, no fix",
        ),
        Valid(
            "import torch\n\nfor x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n"
            "    loss.backward()\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    optimizer.step()\n",
            "clipping between backward() and step()",
        ),
        Valid(
            "import torch\n\nscaler = torch.amp.GradScaler('cuda')\nfor x, y in loader:\n    optimizer.zero_grad()\n"
            "    scaler.scale(criterion(model(x), y)).backward()\n    scaler.unscale_(optimizer)\n"
            "    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    scaler.step(optimizer)\n"
            "    scaler.update()\n",
            "unscale_() before the clip, then scaler.step()",
        ),
        Valid(
            "import torch\n\nscaler = torch.amp.GradScaler('cuda')\nfor x, y in loader:\n    optimizer.zero_grad()\n"
            "    scaler.scale(criterion(model(x), y)).backward()\n    if grad_clip != 0.0:\n"
            "        scaler.unscale_(optimizer)\n        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)\n"
            "    scaler.step(optimizer)\n    scaler.update()\n",
            "unscale_() and the clip together under an if",
        ),
        Valid(
            "import torch\n\nscaler = torch.amp.GradScaler('cuda', enabled=False)\nfor x, y in loader:\n"
            "    scaler.scale(criterion(model(x), y)).backward()\n"
            "    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    scaler.step(optimizer)\n"
            "    scaler.update()\n",
            "a GradScaler built disabled scales nothing",
        ),
        Valid(
            "import torch\n\nfor i, (x, y) in enumerate(loader):\n    loss = criterion(model(x), y) / accum\n"
            "    loss.backward()\n    if (i + 1) % accum == 0:\n"
            "        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n        optimizer.step()\n"
            "        optimizer.zero_grad()\n",
            "gradient accumulation: the clip sits with the step it precedes",
        ),
        Valid(
            "import torch\n\nfor x, y in loader:\n    loss = criterion(model(x), y)\n    accelerator.backward(loss)\n"
            "    accelerator.clip_grad_norm_(model.parameters(), 1.0)\n    optimizer.step()\n",
            "Accelerate's own clip_grad_norm_ (it unscales first): not torch.nn.utils",
        ),
        Valid(
            "import torch\n\n\ndef grad_norm(model):\n    return torch.nn.utils.clip_grad_norm_(model.parameters(), float('inf'))\n",
            "a clip outside any training step (measuring the norm)",
        ),
        Valid(
            "import torch\n\nfor x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n"
            "    loss.backward()\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n"
            "    trainer.step()\n",
            "the step is a helper whose kind the file does not show",
        ),
    )

    scenarios = (
        Scenario("mlp-clip-before-backward", _CLIP_BEFORE_BACKWARD),
        Scenario("amp-clip-before-unscale", _CLIP_BEFORE_UNSCALE),
    )

    def check(self, model: SemanticModel) -> None:
        evidence = Evidence.of(model)
        seen: set[int] = set()
        for call in model.nodes(ast.Call):
            if model.qualified_name(call.func) not in CLIPS:
                continue
            statement = model.statement(call)
            if statement is None or _clip_call(model, statement) is not call:
                continue  # a clip inside a bigger expression: not a statement of the step
            held = _lifted(model, evidence, statement)
            block = block_of(model, held)
            if block is None or id(block) in seen:
                continue
            seen.add(id(block))
            self._check_block(model, evidence, block)

    def _check_block(self, model: SemanticModel, evidence: Evidence, block: list[ast.stmt]) -> None:
        events = [(i, kind) for i, s in enumerate(block) if (kind := _event(model, evidence, s))]
        for position, (index, kind) in enumerate(events):
            if kind != "clip":
                continue
            before = next(((i, k) for i, k in reversed(events[:position]) if k != "clip"), None)
            after = next(((i, k) for i, k in events[position + 1:] if k != "clip"), None)
            if "opaque" in (before and before[1], after and after[1]):
                continue
            found = self._judge(model, evidence, block, events, index, before, after)
            if found is None:
                continue
            message, plan = found
            for clip in _clips_in(model, block[index]):
                self.report(clip, message, fix=Applicability.SAFE if plan else None, data=plan)

    def _judge(self, model, evidence, block, events, index, before, after):
        """(message, fix plan or None) for the clip at `block[index]`, or None when it is where it belongs."""
        step_after = lambda start: next((i for i, k in events if i > start and k == "step"), None)  # noqa: E731
        if after is not None and after[1] == "backward" and (before is None or before[1] == "step"):
            backward = after[0]
            step = step_after(backward)
            if step is None:
                return None
            message = (f"gradient clipping before backward() at line {block[backward].lineno}: it clips the previous "
                       "gradients, and the step applies fresh unclipped ones; clip after backward()")
            if before is not None:
                return message, None
            anchor = backward
            unscales = [i for i, k in events if backward < i < step and k == "unscale"]
            if unscales:
                anchor = unscales[-1]
            elif self._scaler(model, block, backward) is not None:
                return message, None  # after backward() it would still need unscale_()
            return message, _move(model, block, index, anchor, after=True)
        if before is not None and before[1] == "step" and (after is None or after[1] == "backward"):
            step = before[0]
            message = (f"gradient clipping after the step at line {block[step].lineno}: it clips gradients that were "
                       "already applied; clip between backward() and step()")
            earlier = [(i, k) for i, k in events if i < step]
            if after is not None or not earlier or earlier[-1][1] not in ("backward", "unscale"):
                return message, None
            if earlier[-1][1] == "backward" and self._scaler(model, block, earlier[-1][0]) is not None:
                return message, None
            return message, _move(model, block, index, step, after=False)
        if before is not None and before[1] == "backward" and after is not None and after[1] in ("step", "unscale"):
            scaler = self._scaler(model, block, before[0])
            if scaler is None:
                return None
            message = (f"gradient clipping before `{dotted(scaler) or 'scaler'}.unscale_()`: it measures gradients "
                       "still multiplied by the loss scale (65536 at first) and clips every update almost to nothing; "
                       "unscale first")
            if after[1] == "unscale":
                return message, _after_unscale(model, block, index, after[0])
            stepped = scaler_method(block[after[0]], "step")
            if stepped is None or dotted(stepped[0]) != dotted(scaler) or dotted(stepped[1]) is None:
                return message, None
            if not _straight([s for i, s in enumerate(block) if before[0] < i < after[0] and i != index]):
                return message, None
            target = _clips_in(model, block[index])
            if len(target) != 1:
                return message, None
            statement = f"{dotted(scaler)}.unscale_({dotted(stepped[1])})"
            return message, Insert(statement, model.range(model.statement(target[0])))
        return None

    @staticmethod
    def _scaler(model: SemanticModel, block: list[ast.stmt], backward: int) -> ast.expr | None:
        """The enabled GradScaler that scaled the loss of the backward at `block[backward]`, if any."""
        scaler = scaled_by(block[backward], model)
        if scaler is None or is_scaler(model, scaler, block) != "enabled":
            return None
        return scaler

    def fix(self, finding, tree) -> Fix | None:
        plan = finding.data
        if isinstance(plan, Move):
            return build_move(plan, tree, Effect.REPAIRING)
        if isinstance(plan, Insert):
            clip = tree.node_at(plan.before, cst.SimpleStatementLine)
            if clip is None:
                return None
            inserted = cst.parse_statement(plan.statement + "\n").with_changes(leading_lines=clip.leading_lines)
            replacement = cst.FlattenSentinel([inserted, clip.with_changes(leading_lines=())])
            return Fix((Edit(clip, replacement),), Applicability.SAFE, Effect.REPAIRING)
        return None


def _clip_call(model: SemanticModel, statement: ast.stmt) -> ast.Call | None:
    """The clip call a statement consists of: `clip_grad_norm_(...)`, or `norm = clip_grad_norm_(...)`."""
    value = statement.value if isinstance(statement, (ast.Expr, ast.Assign, ast.AnnAssign)) else None
    if isinstance(value, ast.Call) and model.qualified_name(value.func) in CLIPS:
        return value
    return None


def _clips_in(model: SemanticModel, statement: ast.stmt) -> list[ast.Call]:
    """The clip calls of a clip statement, or of the `if` that holds only clips."""
    if isinstance(statement, ast.If):
        return [c for s in [*statement.body, *statement.orelse] if (c := _clip_call(model, s)) is not None]
    found = _clip_call(model, statement)
    return [found] if found is not None else []


def _lifted(model: SemanticModel, evidence: Evidence, statement: ast.stmt) -> ast.stmt:
    """A clip statement, or the `if` around it when that `if` holds nothing else of a training step."""
    parent = model.parent(statement)
    if isinstance(parent, ast.If) and _only_clips(model, evidence, parent):
        return parent
    return statement


def _only_clips(model: SemanticModel, evidence: Evidence, statement: ast.If) -> bool:
    kinds = [_event(model, evidence, s) for s in [*statement.body, *statement.orelse]]
    return "clip" in kinds and all(k in (None, "clip") for k in kinds) and not any(
        isinstance(s, ast.If) for s in [*statement.body, *statement.orelse]
    )


def _event(model: SemanticModel, evidence: Evidence, statement: ast.stmt) -> str | None:
    """What a statement of a training step does: "clip", "unscale", "backward", "step", "opaque" (it holds one of
    those where the order cannot be read: a branch, a loop, a second-order backward), or None."""
    if _clip_call(model, statement) is not None:
        return "clip"
    if isinstance(statement, ast.If) and _only_clips(model, evidence, statement):
        return "clip"
    unscaled = scaler_method(statement, "unscale_")
    if unscaled is not None:
        return "unscale"
    kind = backward_kind(model, statement)
    if kind == "plain":
        return "backward"
    if kind is not None:
        return "opaque"
    if evidence.optimizer_step(statement) is not None or manual_update(statement):
        return "step"
    if method_call(statement, "step") is not None and evidence.scheduler_step(statement) is None:
        return "opaque"  # a step of something the file does not show
    if hasattr(statement, "body") and contains(statement, lambda s: s is not statement and _acts(model, evidence, s)):
        return "opaque"
    return None


def _acts(model: SemanticModel, evidence: Evidence, statement: ast.stmt) -> bool:
    """A simple statement that clips, unscales, runs backward() or steps."""
    return bool(_clip_call(model, statement) or scaler_method(statement, "unscale_") or backward_kind(model, statement)
                or evidence.optimizer_step(statement) or manual_update(statement))


def _straight(statements) -> bool:
    return all(isinstance(s, _STRAIGHT) for s in statements)


def _after_unscale(model: SemanticModel, block: list[ast.stmt], index: int, unscale: int) -> Move | None:
    """Move the clip at `block[index]` to just after the `unscale_()` at `block[unscale]`. The clip depends on the
    unscale on purpose (that is the order being fixed); it must be independent of what else it crosses."""
    between = block[index + 1:unscale]
    if not _straight(between) or not independent(model, [block[index]], between):
        return None
    lines = [(s.lineno, s.end_lineno) for s in block]
    if any(a <= block[i].end_lineno and b >= block[i].lineno for i in (index, unscale)
           for j, (a, b) in enumerate(lines) if j != i):
        return None  # a statement that shares its line (`a; b`)
    return Move((model.range(block[index]),), model.range(block[unscale]), True)


def _move(model: SemanticModel, block: list[ast.stmt], index: int, anchor: int, after: bool) -> Move | None:
    crossed = block[index + 1:anchor + 1] if after else block[anchor:index]
    if not _straight(crossed):
        return None
    return plan_move(model, block, [index], anchor, after)
