"""What the semantic model had to learn for the GF3xx rules: layers of an nn.ModuleList, `Tensor | None`
annotations, and augmented assignments that reach each other inside a loop."""
from __future__ import annotations

import ast

from autofix.semantic import Kind, SemanticModel


def model_of(source: str) -> SemanticModel:
    return SemanticModel(ast.parse(source), source)


def names(model: SemanticModel, identifier: str) -> list[ast.Name]:
    return [n for n in model.nodes(ast.Name) if n.id == identifier]


LAYERS = """\
import torch.nn as nn


class Layer(nn.Module):
    def forward(self, h):
        return h


class Stack(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.layers = nn.ModuleList([Layer() for _ in range(n)])
        self.mixed = nn.ModuleList([Layer(), nn.Linear(2, 2)])

    def forward(self, h):
        for layer in self.layers:
            h = layer(h)
        first = self.layers[0]
        some = self.layers[1:]
        for other in self.mixed:
            h = other(h)
        return first, some
"""


def test_iterating_or_indexing_a_module_list_of_one_class_yields_that_class():
    model = model_of(LAYERS)
    layer = names(model, "layer")[-1]
    assert model.value(layer).kind is Kind.MODULE and model.value(layer).cls == "<local>.Layer"
    first = names(model, "first")[-1]
    assert model.value(first).cls == "<local>.Layer"
    some = names(model, "some")[-1]
    assert model.value(some).cls == "torch.nn.ModuleList", "a slice of a ModuleList is a ModuleList"


def test_a_module_list_of_several_classes_yields_no_class():
    model = model_of(LAYERS)
    other = names(model, "other")[-1]
    assert model.value(other).cls is None


def test_tensor_or_none_annotations_are_tensors():
    model = model_of(
        "import torch\n\ndef f(a: torch.Tensor | None, b: None | torch.FloatTensor, c: int | None, d: torch.Tensor | int):\n"
        "    return a, b, c, d\n"
    )
    a, b, c, d = model.nodes(ast.Return)[0].value.elts
    assert model.value(a).kind is Kind.TENSOR
    assert model.value(b).kind is Kind.TENSOR
    assert model.value(c).kind is Kind.OBJECT
    assert model.value(d).kind is Kind.UNKNOWN, "a tensor or an int: unknown stays unknown"


def test_augmented_assignments_that_reach_each_other_in_a_loop_do_not_recurse_forever():
    model = model_of(
        "def walk(tokens):\n    depth = 0\n    for token in tokens:\n        if token == '(':\n            depth += 1\n"
        "        elif token == ')':\n            depth -= 1\n    return depth\n"
    )
    for name in names(model, "depth"):
        model.value(name)  # used to raise RecursionError
    assert model.value(names(model, "depth")[-1]).kind in (Kind.OBJECT, Kind.UNKNOWN)
