"""The value lattice: what an expression holds, as a `Kind` and an autograd state (`Grad`), and how two are joined.

docs/semantic-model.md gives the join table; tests/test_lattice.py checks it entry by entry.
"""
from __future__ import annotations

import ast
import enum
from dataclasses import dataclass
from typing import Iterable


class Kind(enum.Enum):
    TENSOR = "tensor"
    PARAMETER = "parameter"  # a torch.nn.Parameter (also a tensor)
    MODULE = "module"  # an nn.Module instance; Value.cls names its class when known
    OPTIMIZER = "optimizer"
    SCHEDULER = "scheduler"
    CONTAINER = "container"  # list, tuple, dict, set (Value.element: what iterating it yields, if known)
    OBJECT = "object"  # anything else we know is not a tensor: numbers, strings, None, a PyG Data, ...
    UNKNOWN = "unknown"


class Grad(enum.Enum):
    LEAF = "leaf"  # a leaf that requires grad, or a parameter
    CONNECTED = "connected"  # computed from something requiring grad, with autograd on
    CUT = "cut"  # the graph was cut: .detach(), .data, .item(), .numpy(), .tolist(), a re-wrap
    OFF = "off"  # computed where autograd is off (no_grad, inference_mode, autograd.Function.forward)
    DATA = "data"  # plain data: never required grad
    UNKNOWN = "unknown"


TENSOR_KINDS = frozenset({Kind.TENSOR, Kind.PARAMETER})
REQUIRES_GRAD = frozenset({Grad.LEAF, Grad.CONNECTED})


@dataclass(frozen=True)
class Value:
    kind: Kind
    grad: Grad = Grad.UNKNOWN
    cls: str | None = None  # qualified class of a module/object (`torch.nn.SiLU`, `<file>.Encoder`)
    origin: str | None = None  # what produced a tensor: `torch.softmax`, `Tensor.sigmoid`, `torch.nn.Sigmoid`
    cut: str | None = None  # for Grad.CUT: "detach", "data", "item", "numpy", "tolist", "rewrap"
    cut_node: ast.AST | None = None  # where the cut happened
    element: "Value | None" = None  # for containers: what iterating yields
    items: "tuple[Value, ...] | None" = None  # for tuples of known length (zip, enumerate, `.items()`): each place
    mapped: "Value | None" = None  # for mappings: what `x[key]` and `.values()` give (iterating gives the keys)

    @property
    def is_tensor(self) -> bool:
        return self.kind in TENSOR_KINDS

    @property
    def requires_grad(self) -> bool:
        return self.grad in REQUIRES_GRAD


UNKNOWN = Value(Kind.UNKNOWN)
DATA_OBJECT = Value(Kind.OBJECT, Grad.DATA)
PARAMETER = Value(Kind.PARAMETER, Grad.LEAF)  # a registered nn.Parameter (requires grad unless frozen)
A_MODULE = Value(Kind.MODULE, Grad.DATA)  # an nn.Module of a class not known
PLAIN_TENSOR = Value(Kind.TENSOR, Grad.DATA)  # a tensor that never required grad (a buffer, a mask, an index)
NONE = Value(Kind.OBJECT, Grad.DATA, origin="None")  # `None`: dropped from a join, as Optional[...] is


def join(values: Iterable[Value]) -> Value:
    """The value of an expression that may hold any of `values` (branches, several bindings)."""
    values = list(dict.fromkeys(values))
    if not values:
        return UNKNOWN
    if len(values) > 1 and NONE in values:
        # `self.optimizer = None` in __init__ and a real optimizer later: where the name is used as an optimizer
        # (or a tensor), it is not None, or the program would fail there first.
        values = [v for v in values if v != NONE]
    if len(values) == 1:
        return values[0]
    kinds = {v.kind for v in values}
    if kinds <= TENSOR_KINDS and len(kinds) == 2:
        kind = Kind.TENSOR
    elif len(kinds) == 1:
        kind = kinds.pop()
    else:
        return UNKNOWN
    grads = {v.grad for v in values}
    if len(grads) == 1:
        grad = grads.pop()
    elif grads <= REQUIRES_GRAD:
        grad = Grad.CONNECTED
    else:
        grad = Grad.UNKNOWN
    classes = {v.cls for v in values}
    origins = {v.origin for v in values}
    cuts = {v.cut for v in values}
    return Value(
        kind,
        grad,
        classes.pop() if len(classes) == 1 else None,
        origins.pop() if len(origins) == 1 else None,
        cuts.pop() if len(cuts) == 1 and grad is Grad.CUT else None,
        element=_join_parts([v.element for v in values]),
        items=_join_items([v.items for v in values]),
        mapped=_join_parts([v.mapped for v in values]),
    )


def _join_parts(parts: list["Value | None"]) -> "Value | None":
    """What iterating (or indexing) a join of containers gives: known only when every one of them says."""
    if any(p is None for p in parts):
        return None
    joined = join(parts)
    return None if joined.kind is Kind.UNKNOWN else joined


def _join_items(tuples: list) -> "tuple[Value, ...] | None":
    if any(t is None for t in tuples) or len({len(t) for t in tuples}) != 1:
        return None
    return tuple(join(place) for place in zip(*tuples))


def container(element: "Value | None" = None, items: "tuple[Value, ...] | None" = None,
              mapped: "Value | None" = None, origin: str | None = None) -> Value:
    """A list, tuple, dict, set or iterator (plain data itself) and what it holds, where that is known."""
    if element is not None and element.kind is Kind.UNKNOWN:
        element = None
    if mapped is not None and mapped.kind is Kind.UNKNOWN:
        mapped = None
    return Value(Kind.CONTAINER, Grad.DATA, origin=origin, element=element, items=items, mapped=mapped)


def pair(first: Value, second: Value) -> Value:
    """A 2-tuple: what `enumerate`, `.items()` and `named_parameters()` yield."""
    return container(join([first, second]), items=(first, second))


def _combine_grads(values: Iterable[Value]) -> Grad:
    """The autograd state of something computed from `values` with autograd on."""
    grads = [v.grad for v in values]
    if any(g in REQUIRES_GRAD for g in grads):
        return Grad.CONNECTED
    if not grads:
        return Grad.UNKNOWN
    if any(g is Grad.UNKNOWN for g in grads):
        return Grad.UNKNOWN
    if any(g is Grad.CUT for g in grads):
        return Grad.CUT
    if all(g is Grad.OFF for g in grads):
        return Grad.OFF
    return Grad.DATA
