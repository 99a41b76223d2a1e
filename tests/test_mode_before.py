"""TrainingSteps.mode_before: the mode a module is in before a statement, a construction counting as train()."""
from __future__ import annotations

import ast

import pytest

from autofix.semantic import SemanticModel, TrainingSteps


@pytest.mark.parametrize(
    "body, mode",
    [
        ("model = nn.Linear(4, 1)\nout = model(x)\n", "train"),  # every new module is in training mode
        ("model = nn.Linear(4, 1).to(device)\nout = model(x)\n", "train"),
        ("model = nn.Linear(4, 1).eval()\nout = model(x)\n", "eval"),
        ("model = nn.Linear(4, 1)\nmodel.eval()\nout = model(x)\n", "eval"),
        ("model = nn.Linear(4, 1)\nmodel.train(False)\nout = model(x)\n", "eval"),
        ("model = nn.Linear(4, 1)\nif flag:\n    model.eval()\nout = model(x)\n", None),
        ("model = nn.Linear(4, 1)\nfor x in data:\n    out = model(x)\n", "train"),
        ("model = nn.Linear(4, 1)\nfor x in data:\n    out = model(x)\n    model.eval()\n", None),
        ("model = nn.Linear(4, 1)\nfor e in range(3):\n    for x in data:\n        out = model(x)\n", "train"),
        ("model = make()\nout = model(x)\n", None),  # a factory of unknown code may switch it
        ("model = nn.Linear(4, 1)\nmodel = model.to(device)\nout = model(x)\n", "train"),  # moved, as it was
        ("model = nn.Linear(4, 1)\nmodel.eval()\nmodel = nn.DataParallel(model)\nout = model(x)\n", "eval"),
        ("model = nn.Linear(4, 1)\nmodel = model.eval()\nout = model(x)\n", "eval"),
        ("model = nn.Linear(4, 1)\nset_eval(model)\nout = model(x)\n", None),  # unknown code given the model
        ("model = nn.Linear(4, 1)\nmodel.freeze()\nout = model(x)\n", None),  # a method that may switch it
        ("model = nn.Linear(4, 1)\nmodes.append(model.training)\nout = model(x)\n", "train"),  # reads the mode
        ("model = nn.Linear(4, 1)\ndef f():\n    model.eval()\nf()\nout = model(x)\n", "eval"),  # a helper's exit
        ("model = nn.Linear(4, 1)\ndef f(m):\n    m.eval()\n    fit(m)\nf(model)\nout = model(x)\n", None),
        ("model = nn.Linear(4, 1)\ndef f(m):\n    if c:\n        return\n    m.eval()\nf(model)\nout = model(x)\n",
         None),  # returns early: it may leave the mode as it was
        (("model = nn.Linear(4, 1)\nmodel.eval()\ndef f(m):\n    m.train()\n    step(m)\n    m.zero_grad()\n"
          "f(model)\nout = model(x)\n"), None),  # step(m) is unknown code given the module
        (("model = nn.Linear(4, 1)\nmodel.eval()\ndef f(m, data):\n    m.train()\n    for x in data:\n"
          "        m(x).sum().backward()\nf(model, data)\nout = model(x)\n"), "train"),  # a training helper's exit
        ("model = nn.Linear(4, 1)\ndef f(m):\n    return m\nf(model)\nprint(model)\nmodel.to(d)\nout = model(x)\n",
         "train"),  # a helper that does not switch, a builtin, a mover
        ("out = model(x)\n", None),  # the script does not build it
    ],
)
def test_mode_before_a_statement_of_a_script(body, mode):
    source = "import torch.nn as nn\n\n" + body
    model = SemanticModel(ast.parse(source), source)
    call = next(c for c in model.nodes(ast.Call) if getattr(c.func, "id", None) == "model")
    assert TrainingSteps.of(model).mode_before(model.statement(call), "model") == mode


def test_mode_before_in_a_function_that_does_not_switch_is_its_callers():
    source = "def evaluate(model, x):\n    return model(x)\n"
    model = SemanticModel(ast.parse(source), source)
    call = next(c for c in model.nodes(ast.Call) if getattr(c.func, "id", None) == "model")
    assert TrainingSteps.of(model).mode_before(model.statement(call), "model") == "start"
