"""What the semantic model says about optimizers and schedulers (the GF4xx rules depend on it)."""
from __future__ import annotations

import ast

import pytest

from autofix.semantic import Kind, SemanticModel


def kind_of_receiver(source: str, method: str = "step") -> Kind:
    """The kind of `X` in the last `X.<method>()` call of `source`."""
    model = SemanticModel(ast.parse(source), source)
    calls = [c for c in model.calls_to_method(method)]
    return model.value(calls[-1].func.value).kind


@pytest.mark.parametrize(
    "source, kind",
    [
        ("import torch\nopt = torch.optim.Adam([])\nopt.step()\n", Kind.OPTIMIZER),
        ("from torch.optim import Optimizer\ndef f(opt: Optimizer):\n    opt.step()\n", Kind.OPTIMIZER),
        ("from torch.optim.lr_scheduler import LRScheduler\ndef f(s: LRScheduler):\n    s.step()\n", Kind.SCHEDULER),
        ("from torch.optim.lr_scheduler import _LRScheduler\ndef f(s: '_LRScheduler'):\n    s.step()\n", Kind.SCHEDULER),
        ("import torch\ndef f(s: torch.optim.lr_scheduler.StepLR):\n    s.step()\n", Kind.SCHEDULER),
        (("import torch\nclass T:\n    def __init__(self, m):\n        self.opt = torch.optim.SGD(m.parameters(), lr=1)\n"
         "        self.sched = torch.optim.lr_scheduler.StepLR(self.opt, 1)\n    def go(self):\n        self.opt.step()\n"
         "        self.sched.step()\n"), Kind.SCHEDULER),
        ("def f(opt):\n    opt.step()\n", Kind.UNKNOWN),
    ],
)
def test_optimizers_and_schedulers(source, kind):
    assert kind_of_receiver(source) is kind
