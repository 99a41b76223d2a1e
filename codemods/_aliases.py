"""GF1xx, detection side: `X.data` / `X.detach()` aliases that autograd does not track, and when the semantic
model proves that stripping the alias (writing to `X` itself) touches the same tensor.

- `X.data` needs the model to say X is a tensor. `.data` is an ordinary attribute name on many other
  objects that hold tensors (a torchvision dataset's `.data` is a uint8 tensor, a PyG `InMemoryDataset.data`
  is a `Data` object, `self.data[i] = v` on a container is common), so even an in-place tensor method on
  `X.data` proves only that `X.data` is a tensor, not that `X` is: rewriting `dataset.data.mul_(255)` to
  `dataset.mul_(255)` would break it.
- `X.detach()` needs only that the model does not know X to be something else. `detach()` is the tensor
  method that returns an alias of its receiver; a statement that writes in place into that alias and drops
  the result makes sense only for a tensor (or a tensor-like that forwards to its tensors, for which
  `with torch.no_grad(): X.<method>_()` writes the same storage too).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from autofix.semantic import Grad, Kind, SemanticModel, torch_ops

_NOT_TENSORS = frozenset({Kind.OBJECT, Kind.CONTAINER, Kind.MODULE, Kind.OPTIMIZER, Kind.SCHEDULER})


@dataclass(frozen=True)
class Alias:
    node: ast.AST  # the `X.data` attribute or the `X.detach()` call
    kind: str  # "data" or "detach"
    tensor: ast.AST  # X


def alias(node: ast.AST) -> Alias | None:
    """`X.data` / `X.detach()` (no arguments) as written, whatever X is."""
    if isinstance(node, ast.Attribute) and node.attr == "data":
        return Alias(node, "data", node.value)
    if (
        isinstance(node, ast.Call)
        and not node.args
        and not node.keywords
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "detach"
    ):
        return Alias(node, "detach", node.func.value)
    return None


def tensor_alias(model: SemanticModel, node: ast.AST) -> Alias | None:
    """`node` (or the base of `node[...][...]`) as an alias that the model shows is of a tensor (see the module
    docstring for what each kind needs)."""
    while isinstance(node, ast.Subscript):
        node = node.value
    found = alias(node)
    if found is None:
        return None
    # X is dereferenced here, so a `None` it may also hold does not count (`self.w = None` as a placeholder).
    value = model.dereferenced_value(found.tensor)
    if found.kind == "data":
        return found if value.is_tensor else None
    # A write through `.detach()` shares the version counter, so autograd raises where it would corrupt a
    # backward: it is never silently harmful. Only a parameter's (`self.linear.weight.detach().zero_()`) is
    # worth rewriting; on other tensors it is deliberate (torch itself does `x.detach().copy_(y)`).
    base = found.tensor
    while isinstance(base, ast.Subscript):  # `emb.weight[0].detach().zero_()`: a row of the parameter
        base = base.value
    if base is not found.tensor:
        value = model.dereferenced_value(base)
    return found if value.kind is Kind.PARAMETER else None


def carries_graph(model: SemanticModel, tensor: ast.AST) -> bool:
    """True when `tensor` is a computed intermediate that autograd may have saved: not a leaf, a parameter, or
    a view of one (a view shares its base's version counter, so writing through it is writing the base)."""
    value = model.value(tensor)
    if value.grad is not Grad.CONNECTED:
        return False
    return not _view_of_leaf(model, tensor)


def _view_of_leaf(model: SemanticModel, tensor: ast.AST, depth: int = 0) -> bool:
    if depth > 8:
        return False
    if isinstance(tensor, ast.Name):
        bindings = model.bindings_reaching(tensor.id, tensor) or []
        if len(bindings) != 1 or bindings[0].kind != "assign" or bindings[0].path:
            return False
        tensor = bindings[0].value
    if model.value(tensor).grad is Grad.LEAF:
        return True
    if isinstance(tensor, ast.Subscript):
        return _view_of_leaf(model, tensor.value, depth + 1)
    # A tensor method that returns an alias of (a part of) its receiver (torch table): a write into one is a
    # write into it.
    if (isinstance(tensor, ast.Call) and isinstance(tensor.func, ast.Attribute)
            and torch_ops.returns_view(torch_ops.method(tensor.func.attr))):
        return _view_of_leaf(model, tensor.func.value, depth + 1)
    return False
