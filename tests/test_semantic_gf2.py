"""What the GF2xx port added to the semantic model: parameter values, and LightningModule as an nn.Module."""
from __future__ import annotations

import ast

from autofix.semantic import Grad, Kind, SemanticModel


def model_of(source: str) -> SemanticModel:
    return SemanticModel(ast.parse(source), source)


def arguments(model: SemanticModel, function: str) -> dict[str, ast.arg]:
    node = next(f for f in model.nodes(ast.FunctionDef) if f.name == function)
    return {a.arg: a for a in node.args.args}


def test_parameter_value_follows_annotations_and_self():
    model = model_of(
        "import torch\nimport torch.nn as nn\nfrom torch_geometric.data import Data\n\n"
        "class Net(nn.Module):\n    def forward(self, x: torch.Tensor, data: Data, step: int, other):\n        pass\n"
    )
    args = arguments(model, "forward")
    assert model.parameter_value(args["self"]).kind is Kind.MODULE
    assert model.parameter_value(args["x"]).kind is Kind.TENSOR
    assert model.parameter_value(args["data"]).kind is Kind.OBJECT
    assert model.parameter_value(args["step"]).grad is Grad.DATA
    assert model.parameter_value(args["other"]).kind is Kind.UNKNOWN


def test_a_lightning_module_is_a_module_so_calling_self_is_a_forward():
    for spelling in ("import lightning as L\nBase = L.LightningModule", "import pytorch_lightning as pl\nBase = pl.LightningModule"):
        module, base = spelling.split("\n")
        base_expr = base.split(" = ")[1]
        model = model_of(f"{module}\n\nclass Model({base_expr}):\n    def training_step(self, batch, i):\n        return self(batch)\n")
        call = next(c for c in model.nodes(ast.Call))
        assert model.value(call.func).kind is Kind.MODULE, spelling


def test_a_plain_class_is_not_a_module():
    model = model_of("class Model:\n    def step(self, batch):\n        return self(batch)\n")
    call = next(c for c in model.nodes(ast.Call))
    assert model.value(call.func).kind is Kind.OBJECT
