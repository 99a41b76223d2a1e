"""Evidence beyond definitions: what the code does with a name, a fragment's missing imports, evaluated tests."""
from __future__ import annotations

import ast
import textwrap

import pytest

from autofix.semantic import Grad, Kind, SemanticModel


def model_of(source: str) -> SemanticModel:
    source = textwrap.dedent(source)
    return SemanticModel(ast.parse(source), source)


def expression(model: SemanticModel, text: str) -> ast.AST:
    found = [
        node for node in ast.walk(model.tree)
        if isinstance(node, ast.expr) and ast.get_source_segment(model.text, node) == text
    ]
    found.sort(key=lambda n: (n.lineno, n.col_offset))
    assert found, f"no expression {text!r}"
    return found[-1]


_LOOP = """\
def train(model, opt, loader, criterion, trainer):
    model.train()
    trainer.train()
    for x, y in loader:
        opt.zero_grad()
        out = model(x)
        loss = criterion(out, y)
        loss.backward()
        opt.step()
    (model, opt, loss, trainer, criterion)
"""


@pytest.mark.parametrize(
    "name, kind",
    [
        ("model", Kind.MODULE),  # train() and a call on a batch
        ("opt", Kind.OPTIMIZER),  # zero_grad() and step()
        ("loss", Kind.TENSOR),  # backward()
        ("trainer", Kind.UNKNOWN),  # train() alone: a trainer object has one too
        ("criterion", Kind.UNKNOWN),  # a callable given an output and a target: the loss-flow rules judge it
    ],
)
def test_uses_say_what_a_parameter_holds(name, kind):
    model = model_of(_LOOP)
    assert model.value(expression(model, name)).kind is kind


def test_a_definition_always_wins_over_uses():
    model = model_of("""\
        import torch
        def f():
            sched = torch.optim.lr_scheduler.StepLR(opt, 1)
            sched.step()
            sched.zero_grad()
            sched
        """)
    assert model.value(expression(model, "sched")).kind is Kind.SCHEDULER


def test_zero_grad_alone_does_not_make_an_optimizer():
    model = model_of("def f(net):\n    net.zero_grad()\n    net.step()\n    net\n")
    assert model.value(expression(model, "net")).kind is Kind.OPTIMIZER
    model = model_of("def f(net):\n    net.zero_grad()\n    net\n")
    assert model.value(expression(model, "net")).kind is Kind.UNKNOWN


@pytest.mark.parametrize(
    "source, qualified",
    [
        ("nn.Linear\n", "torch.nn.Linear"),
        ("F.relu\n", "torch.nn.functional.relu"),
        ("optim.Adam\n", "torch.optim.Adam"),
        ("Variable\n", "torch.autograd.Variable"),
        ("np.zeros\n", "numpy.zeros"),
        ("F = make()\nF.relu\n", None),  # the file binds it: the binding wins
        ("def f(F):\n    return F.relu\n", None),
        ("def g():\n    import torch.nn.functional as F\ndef f():\n    return F.relu\n", None),
        ("from helpers import *\nF.relu\n", None),  # a star import may bind anything
        ("Q.relu\n", None),  # no convention for this name
    ],
)
def test_a_fragment_means_what_the_ecosystem_means(source, qualified):
    model = model_of(source)
    assert model.qualified_name(expression(model, source.splitlines()[-1].strip().removeprefix("return "))) == qualified


_MODULE = """\
import torch.nn as nn
class Block(nn.Module):
    def forward(self, x, p):
        dropout_p = 0.0 if not self.training else self.p
        if not self.training and self.prefilter:
            a
        if self.training or p:
            b
        if dropout_p > 0.0:
            c
        else:
            d
        if self.prefilter and not self.training:
            e
        if p:
            f
        return x
"""


@pytest.mark.parametrize(
    "name, mode",
    [("a", False), ("b", None), ("c", True), ("d", None), ("e", False), ("f", None)],
)
def test_conditions_are_evaluated_under_both_modes(name, mode):
    model = model_of(_MODULE)
    assert model.training_mode(expression(model, name)) is mode


def test_a_loop_that_feeds_a_module_iterates_plain_data():
    model = model_of("""\
        import torch.nn as nn
        net = nn.Linear(4, 2)
        def fit(loader, named):
            for x, y in loader:
                out = net(x)
                (x, y)
            for name, p in named:
                p.data.zero_()
                (name, p)
        """)
    for name in ("x", "y"):
        found = model.value(expression(model, "(x, y)").elts["xy".index(name)])
        assert found.kind is Kind.UNKNOWN and found.grad is Grad.DATA
    p = model.value(expression(model, "(name, p)").elts[1])
    assert p.grad is Grad.UNKNOWN  # nothing feeds a module: the parts stay unknown
