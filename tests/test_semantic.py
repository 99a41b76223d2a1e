"""The semantic model: what each name and expression holds, asked as the rules ask it."""
from __future__ import annotations

import ast
import textwrap

import pytest

from autofix.semantic import Grad, Kind, SemanticModel


def model_of(source: str) -> SemanticModel:
    source = textwrap.dedent(source)
    return SemanticModel(ast.parse(source), source)


def expression(model: SemanticModel, text: str, occurrence: int = -1) -> ast.AST:
    """The `occurrence`-th expression node whose source is exactly `text` (the last one by default)."""
    found = [
        node for node in ast.walk(model.tree)
        if isinstance(node, ast.expr) and ast.get_source_segment(model.text, node) == text
    ]
    found.sort(key=lambda n: (n.lineno, n.col_offset))
    assert found, f"no expression {text!r}"
    return found[occurrence]


def value(source: str, text: str, occurrence: int = -1):
    model = model_of(source)
    return model.value(expression(model, text, occurrence))


# --- imports and qualified names ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "source, text, qualified",
    [
        ("import torch\ntorch.no_grad\n", "torch.no_grad", "torch.no_grad"),
        ("import torch as T\nT.nn.Linear\n", "T.nn.Linear", "torch.nn.Linear"),
        ("from torch import nn\nnn.init.zeros_\n", "nn.init.zeros_", "torch.nn.init.zeros_"),
        ("import torch.nn.functional as F\nF.relu\n", "F.relu", "torch.nn.functional.relu"),
        ("from torch.nn import functional as F\nF.softmax\n", "F.softmax", "torch.nn.functional.softmax"),
        ("import torch.nn\ntorch.nn.SiLU\n", "torch.nn.SiLU", "torch.nn.SiLU"),
        ("def f():\n    import torch as th\n    th.ones\n", "th.ones", "torch.ones"),
    ],
)
def test_imports_resolve_to_qualified_names(source, text, qualified):
    model = model_of(source)
    assert model.qualified_name(expression(model, text)) == qualified


def test_a_local_variable_named_like_a_module_does_not_resolve():
    model = model_of("import torch\ndef f(torch):\n    return torch.ones(1)\n")
    assert model.qualified_name(expression(model, "torch.ones")) is None
    assert model.kind(expression(model, "torch.ones(1)")) is Kind.UNKNOWN


def test_an_import_inside_one_function_is_not_visible_in_another():
    model = model_of("def f():\n    import torch\ndef g():\n    torch.ones(1)\n")
    assert model.qualified_name(expression(model, "torch.ones")) is None


# --- kinds ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "source, text, kind, grad",
    [
        ("import torch\nx = torch.zeros(3)\nx\n", "x", Kind.TENSOR, Grad.DATA),
        ("import torch\nx = torch.randn(3, requires_grad=True)\nx\n", "x", Kind.TENSOR, Grad.LEAF),
        ("import torch\nw = torch.nn.Parameter(torch.ones(2))\nw\n", "w", Kind.PARAMETER, Grad.LEAF),
        ("from torch import nn\nm = nn.Linear(2, 2)\nm\n", "m", Kind.MODULE, Grad.DATA),
        ("from torch import nn\nm = nn.Linear(2, 2)\nm.weight\n", "m.weight", Kind.PARAMETER, Grad.LEAF),
        ("import torch\nopt = torch.optim.Adam([])\nopt\n", "opt", Kind.OPTIMIZER, Grad.DATA),
        ("import torch\ns = torch.optim.lr_scheduler.StepLR(o, 1)\ns\n", "s", Kind.SCHEDULER, Grad.DATA),
        ("x = [1, 2]\nx\n", "x", Kind.CONTAINER, Grad.DATA),
        ("x = {}\nx\n", "x", Kind.CONTAINER, Grad.DATA),
        ("x = 'name'\nx\n", "x", Kind.OBJECT, Grad.DATA),
        ("x = load()\nx\n", "x", Kind.UNKNOWN, Grad.UNKNOWN),
        ("def f(x):\n    return x\n", "x", Kind.UNKNOWN, Grad.UNKNOWN),
    ],
)
def test_kinds_and_autograd_states(source, text, kind, grad):
    found = value(source, text)
    assert (found.kind, found.grad) == (kind, grad)


def test_the_module_of_a_known_class_is_named():
    found = value("import torch.nn as nn\nact = nn.SiLU()\nact\n", "act")
    assert found.cls == "torch.nn.SiLU"


# --- cuts, and where autograd is off ------------------------------------------------------------------

@pytest.mark.parametrize(
    "expr, cut",
    [("w.detach()", "detach"), ("w.data", "data"), ("w.item()", "item"), ("w.tolist()", "tolist"),
     ("w.numpy()", "numpy"), ("torch.tensor(w)", "rewrap")],
)
def test_cuts_are_named(expr, cut):
    source = f"import torch\nw = torch.randn(2, requires_grad=True) * 2\ny = {expr}\ny\n"
    found = value(source, "y")
    assert found.grad is Grad.CUT and found.cut == cut


def test_arithmetic_on_a_cut_value_stays_cut_and_on_a_connected_one_stays_connected():
    source = "import torch\nw = torch.randn(2, requires_grad=True)\na = w.detach() * 2\nb = w * 2\na\nb\n"
    assert value(source, "a").grad is Grad.CUT
    assert value(source, "b").grad is Grad.CONNECTED


@pytest.mark.parametrize(
    "source",
    [
        "import torch\nw = torch.randn(2, requires_grad=True)\nwith torch.no_grad():\n    y = w * 2\n    y\n",
        "import torch\nw = torch.randn(2, requires_grad=True)\nwith torch.inference_mode():\n    y = w * 2\n    y\n",
        "import torch\n@torch.no_grad()\ndef f(w: torch.Tensor):\n    y = w * 2\n    y\n",
        "import torch\nclass Op(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, w: torch.Tensor):\n"
        "        y = w.sigmoid()\n        y\n",
    ],
)
def test_values_made_where_autograd_is_off(source):
    model = model_of(source)
    y = expression(model, "y")
    assert model.grad_enabled(y) is False
    assert model.value(y).grad is Grad.OFF


def test_autograd_is_on_in_an_ordinary_forward():
    model = model_of("import torch\nclass M(torch.nn.Module):\n    def forward(self, x):\n        y = x\n        y\n")
    assert model.grad_enabled(expression(model, "y")) is None


# --- flow sensitivity ------------------------------------------------------------------------------------

def test_a_rebinding_changes_what_a_name_holds():
    source = "import torch\ndef f():\n    x = torch.zeros(2)\n    x\n    x = [1]\n    x\n"
    assert value(source, "x", occurrence=1).kind is Kind.TENSOR
    assert value(source, "x", occurrence=3).kind is Kind.CONTAINER


def test_bindings_in_both_branches_join():
    source = "import torch\ndef f(c):\n    if c:\n        x = torch.zeros(2)\n    else:\n        x = torch.ones(2)\n    x\n"
    assert value(source, "x").kind is Kind.TENSOR
    mixed = "import torch\ndef f(c):\n    x = torch.zeros(2)\n    if c:\n        x = {}\n    x\n"
    assert value(mixed, "x").kind is Kind.UNKNOWN


def test_a_use_in_a_loop_sees_the_binding_made_later_in_the_loop():
    source = "import torch\ndef f():\n    x = torch.zeros(2)\n    for i in range(3):\n        x\n        x = 'done'\n"
    assert value(source, "x", occurrence=1).kind is Kind.UNKNOWN  # tensor on the first pass, str after


# --- classes, annotations, functions ---------------------------------------------------------------------

CLASS = """
import torch
from torch import nn

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.act = nn.SiLU()
        self.w = nn.Parameter(torch.ones(2))
        self.cache = {}

    def forward(self, x):
        h = self.act(x)
        self.w
        self.cache
        h
        return h
"""


def test_attributes_assigned_in_init_give_what_self_attributes_hold():
    model = model_of(CLASS)
    assert model.value(expression(model, "self.act")).cls == "torch.nn.SiLU"
    assert model.value(expression(model, "self.w")).kind is Kind.PARAMETER
    assert model.value(expression(model, "self.cache")).kind is Kind.CONTAINER
    h = model.value(expression(model, "h"))
    assert h.kind is Kind.TENSOR and h.origin == "torch.nn.SiLU"


@pytest.mark.parametrize(
    "annotation, kind",
    [("Tensor", Kind.TENSOR), ("torch.Tensor", Kind.TENSOR), ("Optional[Tensor]", Kind.TENSOR),
     ("Tensor | None", Kind.TENSOR), ("list[Tensor]", Kind.CONTAINER), ("Data", Kind.OBJECT),
     ("int", Kind.OBJECT), ("'Tensor'", Kind.TENSOR), ("Any", Kind.UNKNOWN)],
)
def test_annotations_say_what_arguments_hold(annotation, kind):
    source = (
        "from typing import Any, Optional\nimport torch\nfrom torch import Tensor\n"
        "from torch_geometric.data import Data\n"
        f"def forward(self, data: {annotation}):\n    data\n"
    )
    assert value(source, "data").kind is kind


def test_iterating_a_list_of_tensors_annotation_yields_tensors():
    source = "from torch import Tensor\ndef f(xs: list[Tensor]):\n    for x in xs:\n        x\n"
    assert value(source, "x").kind is Kind.TENSOR


def test_what_a_function_of_the_same_file_returns():
    source = "import torch\ndef make():\n    return torch.zeros(3)\ny = make()\ny\n"
    assert value(source, "y").kind is Kind.TENSOR


def test_isinstance_narrows_a_name():
    source = "from torch import nn\ndef init(m):\n    if isinstance(m, nn.Linear):\n        m.weight\n"
    assert value(source, "m.weight").kind is Kind.PARAMETER


def test_iterating_parameters_yields_parameters():
    source = "def f(model):\n    for p in model.parameters():\n        p\n    for n, q in model.named_parameters():\n        q\n"
    assert value(source, "p").kind is Kind.PARAMETER
    assert value(source, "q").kind is Kind.PARAMETER


def test_positions_are_in_characters():
    model = model_of("s = 'é'; y = 1\n")
    where = model.range(expression(model, "y"))
    assert (where.line, where.column) == (1, 9)


def test_none_then_an_optimizer_is_an_optional_optimizer():
    source = (
        "import torch\nclass T:\n    def __init__(self):\n        self.opt = None\n"
        "    def setup(self, m):\n        self.opt = torch.optim.SGD(m.parameters(), lr=0.1)\n"
        "    def step(self):\n        self.opt\n"
    )
    assert value(source, "self.opt").kind is Kind.OPTIMIZER
