"""What torch says about its ops, read from torch_ops.json (generated from torch by tools/torch_table.py).

Names are the spellings a rule resolves: `torch.exp`, `torch.nn.functional.softmax`, `torch.special.expit`,
`torch.nn.ReLU` (a module class), and `Tensor.exp` for a method or property (`Tensor.T`). Every query is False
(or None, where it says so) for a name the table does not hold, so a rule never learns a fact torch did not
state. autofix needs no torch to run: the table is committed data, parsed once per process, on the first
query (torch_knowledge's lists make it at import), in about 2 ms, into one frozenset per fact.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

_TABLE = Path(__file__).with_name("torch_ops.json")
# Result kinds (see tools/torch_table.py): a single tensor, a list of tensors (`split`), named tensor fields
# (`topk`), something else (`size`, `item`), nothing (`retain_grad`), a module's output.
_TENSOR_RESULTS = frozenset({"tensor", "tensors", "tuple", "module"})


class _Facts:
    def __init__(self, table: dict):
        self.version: str = table["torch"]
        self.ops: dict[str, dict] = table["ops"]
        flags: dict[str, set[str]] = {}
        for name, entry in self.ops.items():
            for fact, value in entry.items():
                if value is True:
                    flags.setdefault(fact, set()).add(name)
        self.flags = {fact: frozenset(names) for fact, names in flags.items()}
        self.not_differentiable = frozenset(n for n, e in self.ops.items() if e.get("differentiable") is False)
        self.non_tensor = frozenset(
            n for n, e in self.ops.items() if e.get("result") and not _TENSOR_RESULTS.intersection(e["result"])
        )
        self.tensor_lists = frozenset(n for n, e in self.ops.items() if e.get("result") == ["tensors"])

    def has(self, fact: str, name: str) -> bool:
        return name in self.flags.get(fact, ())


@lru_cache(maxsize=1)
def _facts() -> _Facts:
    return _Facts(json.loads(_TABLE.read_text(encoding="utf-8")))


def method(name: str) -> str:
    """The table's name for a tensor method or property: `exp` -> `Tensor.exp`."""
    return f"Tensor.{name}"


def known(name: str) -> bool:
    return name in _facts().ops


def torch_version() -> str:
    """The torch the table was generated from."""
    return _facts().version


def returns_view(name: str) -> bool:
    """The result may alias the receiver: torch's schema says so (`view`, `t`, `reshape`, `contiguous`, `to`,
    `detach`), or, for a method without a schema, it returned its receiver's storage (`float`)."""
    return _facts().has("view", name)


def saves_output(name: str, inplace: bool = False) -> bool:
    """Autograd saves the result for backward, so an in-place write to it makes backward() raise (`exp`,
    `softmax`, `relu`). `inplace=True` asks about the call with `inplace=True` (`F.elu`, `nn.LeakyReLU`).
    For a module class this is about calling the module, not building it."""
    return _facts().has("saves_output_inplace" if inplace else "saves_output", name)


def module_saves_output(cls: str | None, inplace: bool = False) -> bool:
    """A `torch.nn` module class whose call saves its output (`torch.nn.ReLU`); with `inplace`, when built
    with `inplace=True` (`torch.nn.ELU`)."""
    return bool(cls) and _facts().ops.get(cls, {}).get("result") == ["module"] and saves_output(cls, inplace)


def function_saves_output(name: str | None, inplace: bool = False) -> bool:
    """A function (not a module class) whose result autograd saves: `torch.exp`, `torch.nn.functional.relu`."""
    return bool(name) and _facts().ops.get(name, {}).get("result") != ["module"] and saves_output(name, inplace)


def function_saves_input(name: str | None) -> bool:
    """A function whose backward reads its (first) input, so an in-place write to the input after the call
    makes backward() raise when a tensor argument requires grad (`torch.sin`, `F.gelu`, `F.linear`)."""
    return bool(name) and _facts().ops.get(name, {}).get("result") != ["module"] and _facts().has("saves_input", name)


def module_saves_input(cls: str | None) -> bool:
    """A `torch.nn` module whose call saves its input for backward (`torch.nn.SiLU`, `torch.nn.LayerNorm`)."""
    return bool(cls) and _facts().ops.get(cls, {}).get("result") == ["module"] and _facts().has("saves_input", cls)


def module_weights_save_input(cls: str | None) -> bool:
    """A `torch.nn` layer with weights whose gradient needs the input: a write to the input after the call makes
    backward() raise even when the input requires no grad (`torch.nn.Linear`, `torch.nn.Conv2d`)."""
    return bool(cls) and _facts().has("weights_save_input", cls)


def is_inplace(name: str) -> bool:
    """The op writes to its receiver: torch's schema marks it `Tensor(a!) self` (`add_`, and also metadata-only
    ones such as `requires_grad_` and `retain_grad`), or, without a schema, calling it bumped the version."""
    return _facts().has("inplace", name)


def differentiable(name: str) -> bool | None:
    """Whether the result can carry a gradient from the inputs; None when the table could not observe it.
    False for integer and boolean results (`argmax`, `eq`, `nonzero`) and for results torch cuts (`detach`)."""
    entry = _facts().ops.get(name)
    return None if entry is None else entry.get("differentiable")


def integer_result(name: str) -> bool:
    """The result is an integer or boolean tensor whatever the input (`argmax`, `eq`, `long`): plain data."""
    return _facts().has("integer", name)


def nondifferentiable_fields(name: str) -> tuple[str, ...]:
    """The named result fields that never carry a gradient (`indices` of `topk`, `sort`, `max(dim)`)."""
    return tuple(_facts().ops.get(name, {}).get("nondifferentiable_fields", ()))


def returns_non_tensor(name: str) -> bool:
    """The op returns no tensor in any form: a number, a shape, a bool, None (`size`, `item`, `is_contiguous`)."""
    return name in _facts().non_tensor


def returns_tensor_list(name: str) -> bool:
    """The op returns a list of tensors (`split`, `chunk`, `unbind`)."""
    return name in _facts().tensor_lists


def factories() -> frozenset[str]:
    """The `torch.X` names (X alone) that make a new tensor from shapes or data (`zeros`, `arange`, `tensor`,
    `zeros_like`): their schema takes the tensor options."""
    return frozenset(n[len("torch."):] for n in _facts().flags.get("factory", ()))


def accepts_requires_grad(name: str) -> bool:
    """A factory that makes a leaf that requires grad when given `requires_grad=True` (not `randint`)."""
    return _facts().has("requires_grad_ok", name)


def default_float(name: str) -> bool:
    """A factory that, given only Python ints, makes the default dtype (`zeros(3)`; not `arange(3)`)."""
    return _facts().has("default_float", name)


def non_tensor_members(properties: bool) -> frozenset[str]:
    """The tensor methods (or, with `properties`, the properties) that return no tensor: `size`, `item`,
    `is_contiguous`; `shape`, `dtype`, `is_leaf`."""
    facts = _facts()
    return frozenset(n[len("Tensor."):] for n in facts.non_tensor
                     if n.startswith("Tensor.") and bool(facts.ops[n].get("property")) is properties)


def tensor_list_methods() -> frozenset[str]:
    """The tensor methods that return a list of tensors: `split`, `chunk`, `unbind`, `tensor_split`."""
    return frozenset(n[len("Tensor."):] for n in _facts().tensor_lists if n.startswith("Tensor."))


def inplace_methods() -> frozenset[str]:
    """The names of the tensor methods that write to their receiver (`add_`, `zero_`, ...)."""
    prefix = len("Tensor.")
    return frozenset(n[prefix:] for n in _facts().flags.get("inplace", ()) if n.startswith("Tensor."))


def _module_entry(cls: str | None) -> dict | None:
    """The table's entry of a `torch.nn` module class, by any public spelling (`torch.nn.modules.linear.Linear`)."""
    if not cls or not cls.startswith("torch.nn."):
        return None
    ops = _facts().ops
    entry = ops.get(cls)
    if entry is None and cls.startswith("torch.nn.modules."):
        entry = ops.get("torch.nn." + cls.rsplit(".", 1)[-1])
    return entry if entry is not None and entry.get("result") == ["module"] else None


def module_parameters(cls: str | None) -> frozenset[str] | None:
    """The names of a `torch.nn` module class's own parameter slots, as torch builds it (`weight`, `bias` of
    `torch.nn.Linear`; `in_proj_weight` of `MultiheadAttention`): each holds a Parameter, or None in some
    constructions. None when the table does not know the class."""
    entry = _module_entry(cls)
    return None if entry is None or "parameters" not in entry else frozenset(entry["parameters"])


def module_buffers(cls: str | None) -> frozenset[str] | None:
    """The names of a `torch.nn` module class's own buffer slots (`running_mean` of `BatchNorm2d`)."""
    entry = _module_entry(cls)
    return None if entry is None or "buffers" not in entry else frozenset(entry["buffers"])


@lru_cache(maxsize=1)
def parameter_slot_names() -> frozenset[str]:
    """Every name that is a parameter slot of some `torch.nn` module class (`weight`, `bias`, `in_proj_weight`):
    a cheap first test before looking for a slot through a class's bases."""
    return frozenset(n for e in _facts().ops.values() if e.get("result") == ["module"] for n in e.get("parameters", ()))
