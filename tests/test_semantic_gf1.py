"""What the semantic model infers for the shapes the GF1xx (`.data` write) rules depend on."""
from __future__ import annotations

import ast
import textwrap

import pytest

from autofix.semantic import Kind, SemanticModel


def value_of(source: str, expression: str, occurrence: int = -1):
    """The model's value of the `occurrence`-th expression in `source` whose text is `expression`."""
    source = textwrap.dedent(source)
    model = SemanticModel(ast.parse(source), source)
    found = [n for n in ast.walk(model.tree) if isinstance(n, ast.expr) and ast.get_source_segment(source, n) == expression]
    found.sort(key=lambda n: (n.lineno, n.col_offset))
    assert found, f"{expression!r} not in the source"
    return model.value(found[occurrence])


def kind_of(source: str, expression: str, occurrence: int = -1) -> Kind:
    return value_of(source, expression, occurrence).kind


NARROWING = [
    pytest.param(
        """
        import torch.nn as nn
        def init(m):
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                m.weight
        """, "m.weight", Kind.PARAMETER, id="tuple-of-weighted-layers",
    ),
    pytest.param(
        """
        import torch
        def init(m):
            if isinstance(m, torch.nn.BatchNorm2d) or isinstance(m, torch.nn.BatchNorm1d):
                m.bias
        """, "m.bias", Kind.PARAMETER, id="or-of-isinstance",
    ),
    pytest.param(
        """
        import torch.nn as nn
        def init(m, other):
            if isinstance(m, nn.Linear) or isinstance(other, nn.Linear):
                m.weight
        """, "m.weight", Kind.UNKNOWN, id="or-testing-another-name-does-not-narrow",
    ),
    pytest.param(
        """
        import torch.nn as nn
        def init(m):
            if isinstance(m, (nn.Linear, nn.ReLU)):
                m.weight
        """, "m.weight", Kind.UNKNOWN, id="a-layer-without-weight-in-the-tuple",
    ),
    pytest.param(
        """
        from torch import Tensor
        class A:
            def __init__(self, p):
                self.p = p
            def reset(self):
                if isinstance(self.p, Tensor):
                    self.p
        """, "self.p", Kind.TENSOR, id="attribute-narrowed",
    ),
]


@pytest.mark.parametrize("source, expression, kind", NARROWING)
def test_isinstance_narrowing(source, expression, kind):
    assert kind_of(source, expression) is kind


def test_a_none_placeholder_does_not_hide_the_layer_where_it_is_dereferenced():
    source = """
    import torch.nn as nn
    class Net(nn.Module):
        def __init__(self, ref):
            super().__init__()
            self.emb = None
            if ref is not None:
                self.emb = nn.Embedding(10, 1)
            self.emb.weight
            self.emb
    """
    assert kind_of(source, "self.emb.weight") is Kind.PARAMETER
    # A None placeholder joins as Optional: where the name is used as a module it is not None.
    assert kind_of(source, "self.emb") is Kind.MODULE


def test_indexing_and_iterating_module_sequences_the_file_builds():
    source = """
    import torch.nn as nn
    class Block(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.mlp = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
            self.lins = nn.ModuleList()
            for _ in range(n):
                self.lins.append(nn.Linear(2, 2))
            self.convs = nn.ModuleList([nn.Conv1d(2, 2, 1) for _ in range(n)])
            self.mixed = nn.ModuleList()
            self.mixed.extend(make_layers())
        def reset(self):
            self.mlp[0].bias
            self.mlp[1].weight
            for lin in self.lins:
                lin.bias
            self.convs[3].weight
            for layer in self.mixed:
                layer.weight
    """
    assert kind_of(source, "self.mlp[0].bias") is Kind.PARAMETER
    assert kind_of(source, "self.mlp[1].weight") is Kind.UNKNOWN  # nn.ReLU has no weight
    assert kind_of(source, "lin.bias") is Kind.PARAMETER
    assert kind_of(source, "self.convs[3].weight") is Kind.PARAMETER
    assert kind_of(source, "layer.weight") is Kind.UNKNOWN  # extended with something the file does not show


def test_an_optimizer_of_this_file_iterates_its_param_groups():
    source = """
    import torch
    class LegacySGD(torch.optim.Optimizer):
        def step(self):
            for group in self.param_groups:
                for p in group["params"]:
                    p
                group["lr"]
    """
    assert value_of(source, "self", 0).kind is Kind.OPTIMIZER
    assert kind_of(source, "p") is Kind.TENSOR
    assert kind_of(source, 'group["lr"]') is Kind.UNKNOWN


def test_data_of_pyg_objects_and_unknowns_is_not_a_tensor():
    source = """
    from torch_geometric.data import Batch
    def f(batch: Batch, dataset):
        batch.data
        dataset.data
    """
    assert kind_of(source, "batch.data") is Kind.UNKNOWN
    assert kind_of(source, "dataset.data") is Kind.UNKNOWN


def test_registered_parameters_and_buffers_are_attributes():
    source = """
    import torch
    from torch.nn import Parameter
    class Rbf(torch.nn.Module):
        def __init__(self, trainable):
            super().__init__()
            means = torch.linspace(0, 1, 8)
            if trainable:
                self.register_parameter("means", Parameter(means))
            else:
                self.register_buffer("means", means)
            self.register_buffer("mask", None)
        def reset(self):
            self.means
            self.mask
    """
    assert kind_of(source, "self.means") is Kind.TENSOR
    assert kind_of(source, "self.mask") is Kind.OBJECT  # registered as None, as far as the file shows


def test_attributes_of_instances_of_classes_of_this_file():
    source = """
    import torch
    import torch.nn as nn
    class Inner(nn.Module):
        def __init__(self):
            super().__init__()
            self.logit_scale = nn.Parameter(torch.tensor(2.0))
            self.maybe = None
    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = Inner()
        def forward(self):
            self.inner.logit_scale
            self.inner.maybe
            self.inner.other
    """
    assert kind_of(source, "self.inner.logit_scale") is Kind.PARAMETER
    assert kind_of(source, "self.inner.maybe") is not Kind.TENSOR
    assert kind_of(source, "self.inner.other") is Kind.UNKNOWN
