"""Writes autofix/semantic/torch_ops.json: what torch itself says about each public op the rules can see.

Run:  python tools/torch_table.py           (needs torch; rewrites the committed table)
      python tools/torch_table.py --check   (regenerates in memory; exit 1 when the committed table differs)

For every public callable of `torch`, `torch.Tensor`, `torch.nn.functional`, `torch.linalg`, `torch.special`
and `torch.fft`, and every `torch.nn` module class that builds from a few size patterns, the table records:

- `view`: the result aliases the receiver. Read from torch's operator schemas: every non-`out` overload whose
  first argument is a Tensor returns `Tensor(a)` aliased to `Tensor(a) self` (this includes `reshape`,
  `contiguous` and `to`, which return the receiver itself, or a view, when nothing has to be copied).
- `inplace`: an overload writes to its receiver (`Tensor(a!) self`), or, for the few methods that have no
  schema, calling it bumps the receiver's version counter.
- `result`: what the op returns, from the schemas (or from calling it where there is none): "tensor",
  "tensors" (a list: `split`), "tuple" (named fields: `topk`), "other" (ints, bools, shapes, scalars), "none".
- `saves_output`: autograd saves the op's own result for backward: its `grad_fn` has a `_saved_result`, and an
  in-place write to the result then does make backward() raise. Observed by running the op on small tensors that
  require grad, with every argument pattern that works; true only when every working call saved its result.
- `saves_output_inplace`: the same for a `torch.nn.functional` function or `torch.nn` module run with
  `inplace=True` (ELU saves its result only then).
- `saves_input`: an in-place write to the input after the call makes backward() raise (`sin`, `gelu`,
  `linear`, `nn.SiLU`), with every tensor argument requiring grad; true only when every working call did.
  `weights_save_input`: for a `torch.nn` layer with weights, the same with an input that requires no grad
  (the weights' gradient needs it: `nn.Linear`, `nn.Conv2d`, `nn.LayerNorm`). Layers are built with the
  first of a few size patterns that works (`Linear(4, 4)`, `Conv2d(4, 4, 1)`, `GroupNorm(2, 4)`).
- `differentiable`: the result can carry a gradient: a float result that requires grad when the input does.
  False for integer and boolean results (`argmax`, comparisons, `nonzero`) and for results torch cuts
  (`detach`, `zeros_like`). `integer`: the result is an integer or boolean tensor. `nondifferentiable_fields`
  and `integer_fields` name the tuple fields that never can carry a gradient, or are integers (`indices`).
- `factory`: a `torch.X` that makes a new tensor from shapes or data: its schema takes the tensor options
  (`dtype`, `device`, and `layout`/`pin_memory` or `requires_grad`). `requires_grad_ok`: it accepts
  `requires_grad=True` (floating results only: not `randint`, `randperm`). `default_float`: given only Python
  ints, it returns the default dtype (`zeros(3)`, `linspace(0, 1, 5)`; not `arange(3)` or `full((2,), 1)`).
- Tensor properties (`x.T`, `x.shape`, `x.grad`): `result`, and `view` when they share the storage.
- `parameters` and `buffers` of every `torch.nn` module class (containers, composite and lazy layers too): the
  names of the module's own parameter and buffer slots (`_parameters`, `_buffers`, not its submodules'), as built
  with the first construction that works. A slot may hold None in another construction (`Linear(bias=False)`),
  so the fact is "a Parameter, or None", which is what a dereferenced `self.bias.data` needs; a slot that exists
  only for some arguments (`weight_ih_l1` of a two-layer LSTM) is not listed, and stays unknown.

Facts that could not be observed (no argument pattern worked) are left out of the entry: the table then does
not know, and the rules keep to what they knew before. The torch version is recorded; a table made by another
version is not compared by `--check` as equal.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import warnings
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "autofix" / "semantic" / "torch_ops.json"

# Argument patterns tried after the input tensor `x` (values in [0.5, 1.5), requiring grad): none, another
# tensor of x's shape, a dim, a count, two dims (or a dim and an index), a shape, a scalar, a dim and an
# index tensor (gather), a dim and a list of positions (index_select), a mask and a fill value, a mask and a
# tensor (where), dim/start/length (narrow), two tensors (addmm), a dtype (`type`, `to`) and a normalized
# shape (`layer_norm`). `x` is 4x4 first; an op that takes none of these (bmm) is tried on a 2x4x4 `x`, then
# on a 2x4x4x4 one.
_PATTERNS = ((), ("y",), (-1,), (1,), (0, 1), (4, 4), (2.0,), (0, "index"), ("mask", 0.0), ("mask", "y"),
             (0, "positions"), (0, 0, 2), ("y", "y"), ("dtype",), ([4],))
_SHAPES = ((4, 4), (2, 4, 4), (2, 4, 4, 4))  # the last for images (`conv2d(x, w)`)
# Modules are also tried on volumes (Conv3d, BatchNorm3d).
_MODULE_SHAPES = _SHAPES + ((2, 4, 4, 4, 4),)
# Module constructions tried: no arguments, a dim (Softmax), then sizes: features (LayerNorm, BatchNorm1d),
# in/out features (Linear), in/out channels and a kernel (Conv2d), groups and channels (GroupNorm).
_MODULE_ARGUMENTS = ((), (4,), (4, 4), (4, 4, 1), (2, 4))


def _namespaces(torch):
    import torch.nn.functional as F

    return (
        ("torch", torch),
        ("torch.nn.functional", F),
        ("torch.linalg", torch.linalg),
        ("torch.special", torch.special),
        ("torch.fft", torch.fft),
    )


def _schemas(torch) -> dict[str, list]:
    """aten operator name (no namespace) -> its overloads whose first argument is a Tensor."""
    by_name: dict[str, list] = {}
    for schema in torch._C._jit_get_all_schemas():
        namespace, _, name = schema.name.partition("::")
        if namespace != "aten" or not schema.arguments or str(schema.arguments[0].type) != "Tensor":
            continue
        by_name.setdefault(name, []).append(schema)
    return by_name


def _aten_name(namespace: str, name: str) -> str:
    """The aten operator a public spelling calls: `torch.linalg.norm` -> `linalg_norm`."""
    prefix = {"torch.linalg": "linalg_", "torch.special": "special_", "torch.fft": "fft_"}.get(namespace, "")
    return prefix + name


def _is_out(schema) -> bool:
    return schema.overload_name.endswith("out") or any(
        a.kwarg_only and a.alias_info is not None and a.alias_info.is_write for a in schema.arguments
    )


def _result_kind(schema) -> str:
    returns = schema.returns
    if not returns:
        return "none"
    if len(returns) > 1:
        return "tuple" if all(str(r.type) == "Tensor" for r in returns) else "other"
    kind = str(returns[0].type)
    if kind == "Tensor":
        return "tensor"
    if kind in ("Tensor[]", "List[Tensor]"):
        return "tensors"
    return "other"


def _schema_facts(overloads) -> dict:
    facts: dict = {}
    plain = [s for s in overloads if not _is_out(s)]
    if not plain:
        return facts
    facts["result"] = sorted({_result_kind(s) for s in plain})
    facts["inplace"] = any(s.arguments[0].alias_info is not None and s.arguments[0].alias_info.is_write for s in plain)
    tensor_results = [s for s in plain if _result_kind(s) in ("tensor", "tensors")]

    def aliases_self(schema) -> bool:
        self_alias, result_alias = schema.arguments[0].alias_info, schema.returns[0].alias_info
        return (self_alias is not None and result_alias is not None and not self_alias.is_write
                and bool(set(self_alias.before_set) & set(result_alias.before_set)))

    if tensor_results:
        facts["view"] = all(aliases_self(s) for s in tensor_results)
    else:
        facts["view"] = False
    return facts


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def _observe(torch, call, shapes=None) -> list[dict]:
    """Run `call(x, *pattern)` for each argument pattern; one observation per call that returned."""
    for shape in shapes or _SHAPES:
        observations = []
        for pattern in _PATTERNS:
            observation = _observe_one(torch, call, shape, pattern)
            if observation is not None:
                observations.append(observation)
        if observations:
            return observations
    return []


def _inputs(torch, shape, pattern):
    # A generator of its own: torch.manual_seed() also seeds CUDA lazily, recording a stack trace per call.
    generator = torch.Generator().manual_seed(0)
    x = (torch.rand(*shape, generator=generator) + 0.5).requires_grad_()
    made = {
        "y": lambda: torch.rand(*shape, generator=generator) + 0.5,
        "index": lambda: torch.zeros(*shape, dtype=torch.long),
        "mask": lambda: torch.rand(*shape, generator=generator) > 0.5,
        "positions": lambda: torch.tensor([0, 1]),
        "dtype": lambda: torch.float64,
    }
    return x, [made[a]() if isinstance(a, str) else a for a in pattern]


def _observe_one(torch, call, shape, pattern) -> dict | None:
    for inplace in (False, True):
        x, args = _inputs(torch, shape, pattern)
        # An in-place op cannot run on a leaf that requires grad: it gets a non-leaf copy instead.
        receiver = x * 1 if inplace else x
        version = receiver._version
        signal.setitimer(signal.ITIMER_REAL, 2.0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = call(receiver, *args)
                observation = _observation(torch, receiver, out, receiver._version != version)
                if observation["result"] == "tensor" and not observation["bumped"]:
                    observation["saves_input"] = _saves_input(torch, call, shape, pattern)
                return observation
        except _Timeout:
            return None
        except Exception as error:
            if "leaf Variable" not in str(error) or inplace:
                return None  # only an in-place op refused for a leaf is worth a second try, on a copy
            continue
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return None


def _saves_input(torch, call, shape, pattern) -> bool:
    """An in-place write to the input after the call makes backward() raise: the op saved its input (`sin`,
    `gelu`, `linear`). Every tensor argument requires grad here, as in a network, so `mul(x, w)` counts (it
    saves x for w's gradient)."""
    x, args = _inputs(torch, shape, pattern)
    x = x * 1
    args = [a.requires_grad_() * 1 if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args]
    try:
        out = call(x, *args)
        if not isinstance(out, torch.Tensor) or not out.requires_grad:
            return False
        x.mul_(1)
        (out.real if out.is_complex() else out).sum().backward()
    except RuntimeError as error:
        return "modified by an inplace operation" in str(error)
    except Exception:
        return False
    return False


def _observation(torch, x, out, bumped: bool) -> dict:
    if isinstance(out, torch.Tensor):
        return {"result": "tensor", "bumped": bumped, "shares": _shares(out, x), **_tensor_facts(torch, out)}
    names = getattr(type(out), "__match_args__", None)  # torch.return_types.topk and the like name their fields
    if isinstance(out, tuple) and names and all(isinstance(o, torch.Tensor) for o in out):
        return {"result": "tuple", "bumped": bumped,
                "fields": {f: _tensor_facts(torch, o, write=False) for f, o in zip(names, out)}}
    if isinstance(out, (list, tuple)) and out and all(isinstance(o, torch.Tensor) for o in out):
        return {"result": "tensors", "bumped": bumped, "shares": _shares(out[0], x),
                **_tensor_facts(torch, out[0], write=False)}
    return {"result": "none" if out is None else "other", "bumped": bumped}


def _shares(out, x) -> bool:
    try:
        return out.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    except Exception:
        return False  # sparse and other layouts without a plain storage


def _tensor_facts(torch, t, write: bool = True) -> dict:
    integer = not (t.is_floating_point() or t.is_complex())
    facts = {"differentiable": bool(t.requires_grad and not integer), "integer": integer, "saves_output": False}
    grad_fn = t.grad_fn
    # An in-place op returns its receiver, whose grad_fn is then the op's own node (`ReluBackward1`).
    if write and grad_fn is not None and any(a.startswith("_saved_result") for a in dir(grad_fn)):
        facts["saves_output"] = _write_breaks_backward(torch, t)
    return facts


def _write_breaks_backward(torch, t) -> bool:
    """What the rules rely on: an in-place write to the result makes backward() raise. `_saved_result1` of a
    layer norm is its mean, not its result, so the saved name alone does not tell."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t.mul_(1)
            (t.real if t.is_complex() else t).sum().backward()
    except RuntimeError as error:
        return "modified by an inplace operation" in str(error)
    return False


def _observed_facts(observations: list[dict]) -> dict:
    facts: dict = {}
    single = [o for o in observations if o["result"] in ("tensor", "tensors")]
    if single:
        facts["saves_output"] = all(o["saves_output"] for o in single)
        fresh = [o for o in single if "saves_input" in o]
        if fresh:
            facts["saves_input"] = all(o["saves_input"] for o in fresh)
        facts["differentiable"] = any(o["differentiable"] for o in single)
        facts["integer"] = all(o["integer"] for o in single)
    tuples = [o for o in observations if o["result"] == "tuple"]
    if tuples:
        fields = sorted({f for o in tuples for f in o["fields"]})
        never = [f for f in fields if not any(o["fields"].get(f, {}).get("differentiable") for o in tuples)]
        integer = [f for f in fields if all(o["fields"].get(f, {}).get("integer") for o in tuples)]
        if never:
            facts["nondifferentiable_fields"] = never
        if integer:
            facts["integer_fields"] = integer
        if not single:
            facts["differentiable"] = len(never) < len(fields)
    return facts


def _entry(torch, call, overloads) -> dict:
    entry = _schema_facts(overloads) if overloads else {}
    observations = _observe(torch, call)
    if "result" not in entry and not observations:
        # Methods that refuse a tensor requiring grad (`numpy`) still say what they return on plain data.
        plain = _observe(torch, lambda x, *a: call(x.detach(), *a))
        if plain:
            entry["result"] = sorted({o["result"] for o in plain})
            entry["inplace"] = False
            entry["view"] = False
    if "result" not in entry and observations:
        entry["result"] = sorted({o["result"] for o in observations})
        entry["inplace"] = any(o["bumped"] for o in observations)
        # No schema (a Python-level method such as `float` or `type_as`): a view when every tensor it returned
        # shared the receiver's storage (`x.float()` of a float32 tensor is the tensor itself).
        tensors = [o for o in observations if o["result"] == "tensor"]
        entry["view"] = bool(tensors) and all(o["shares"] and not o["bumped"] for o in tensors)
    entry.update(_observed_facts(observations))
    return entry


def _public(namespace) -> list[str]:
    return sorted(n for n in dir(namespace) if not n.startswith("_") and callable(getattr(namespace, n, None)))


def generate() -> dict:
    import inspect

    import torch
    import torch.nn as nn

    signal.signal(signal.SIGALRM, _alarm)
    schemas = _schemas(torch)
    overridable = {f for functions in torch.overrides.get_overridable_functions().values() for f in functions}
    ops: dict[str, dict] = {}

    for name in _public(torch.Tensor):
        attribute = getattr(torch.Tensor, name)
        if isinstance(attribute, type):
            continue
        ops[f"Tensor.{name}"] = _entry(torch, lambda x, *a, _n=name: getattr(x, _n)(*a), schemas.get(name, []))

    for name in dir(torch.Tensor):
        if not name.startswith("_") and type(getattr(torch.Tensor, name)).__name__ in ("getset_descriptor", "property"):
            entry = _property_entry(torch, name)
            if entry is not None:
                ops[f"Tensor.{name}"] = entry

    for prefix, namespace in _namespaces(torch):
        for name in _public(namespace):
            function = getattr(namespace, name)
            if isinstance(function, type) or inspect.ismodule(function):
                continue
            overloads = schemas.get(_aten_name(prefix, name), [])
            if not overloads and function not in overridable:
                continue  # not a tensor op (torch.manual_seed, torch.save, ...): never called here
            has_inplace = "inplace" in _parameters(function)
            if has_inplace:
                # `F.relu(x, -1)` would bind -1 to `inplace`: the plain observation passes inplace=False by name.
                entry = _entry(torch, lambda x, *a, _f=function: _f(x, *a, inplace=False), overloads)
            else:
                entry = _entry(torch, function, overloads)
            if has_inplace:
                inplace = _observe(torch, lambda x, *a, _f=function: _f(x * 1, *a, inplace=True))
                saved = [o["saves_output"] for o in inplace if "saves_output" in o]
                if saved:
                    entry["saves_output_inplace"] = all(saved)
            ops[f"{prefix}.{name}"] = entry

    for name in _factory_names(torch):
        ops.setdefault(f"torch.{name}", {"result": ["tensor"]}).update(_factory_facts(torch, getattr(torch, name)))

    for name in _public(nn):
        cls = getattr(nn, name)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            continue
        entry = {} if name.startswith("Lazy") else _module_entry(torch, cls)
        members = _module_members(cls)
        if entry or members:
            ops[f"torch.nn.{name}"] = {"result": ["module"], **entry, **members}

    return {
        "about": "Generated by tools/torch_table.py from torch itself; do not edit. Each field: see that script.",
        "torch": torch.__version__,
        "ops": dict(sorted(ops.items())),
    }


def _property_entry(torch, name: str) -> dict | None:
    """A property (`x.T`, `x.shape`): what it holds on a 4x4 float tensor that requires grad and has a
    gradient; for a tensor, a view when it shares the receiver's storage."""
    x = (torch.rand(4, 4, generator=torch.Generator().manual_seed(0)) + 0.5).requires_grad_()
    (x * 2).sum().backward()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = getattr(x, name)
    except Exception:
        return None  # `imag` of a real tensor
    observed = _observation(torch, x, out, False)
    entry = {"property": True, "result": [observed["result"]], "inplace": False, "view": bool(observed.get("shares"))}
    if observed["result"] == "tensor":
        entry.update(_observed_facts([observed]))
    return entry


# Argument patterns for factories: a length, a shape, a shape and a fill value, start/end/steps, a list of
# Python numbers, a float tensor (the *_like factories), then the same with floats (`arange(2.0)` can require
# grad, `arange(2)` cannot), mean/std/size (`normal`) and size/stride (`empty_strided`).
_FACTORY_PATTERNS = ((2,), (2, 2), ((2,), 1), (0, 1, 3), ([1, 2],), ("like",), (2.0,), ((2,), 1.0),
                     (0.0, 1.0, 3), ([1.0, 2.0],), ("like", 1.0), (0.0, 1.0, (2,)), ((2,), (1,)))


def _factory_names(torch) -> list[str]:
    names = set()
    for schema in torch._C._jit_get_all_schemas():
        namespace, _, name = schema.name.partition("::")
        arguments = {a.name for a in schema.arguments}
        if namespace != "aten" or name.startswith("_") or not callable(getattr(torch, name, None)):
            continue
        if {"dtype", "device"} <= arguments and ({"layout", "pin_memory"} <= arguments or "requires_grad" in arguments):
            names.add(name)
    return sorted(names)


def _factory_facts(torch, function) -> dict:
    facts = {"factory": True, "requires_grad_ok": False}
    integer_only = []
    for pattern in _FACTORY_PATTERNS:
        args = [torch.rand(2, 2) if a == "like" else a for a in pattern]
        for asks in (False, True):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out = function(*args, requires_grad=True) if asks else function(*args)
            except Exception:
                continue
            if not isinstance(out, torch.Tensor):
                continue
            if asks:
                facts["requires_grad_ok"] |= out.requires_grad and out.is_leaf
            elif all(type(a) is int or (type(a) in (tuple, list) and all(type(i) is int for i in a)) for a in args):
                integer_only.append(out.dtype == torch.get_default_dtype())
    if integer_only:
        facts["default_float"] = all(integer_only)
    return facts


def _parameters(function) -> tuple[str, ...]:
    import inspect

    try:
        return tuple(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return ()


def _module_entry(torch, cls) -> dict:
    """What calling a `torch.nn` module does to autograd, for each construction that builds and runs."""
    for arguments in _MODULE_ARGUMENTS:
        module = _build(cls, arguments)
        if module is None or list(module.children()):
            continue  # containers and composite layers (Transformer): their call is not one op
        observations = _observe(torch, lambda x, *a, _m=module: _m(x, *a), _MODULE_SHAPES)
        entry = _observed_facts(observations)
        if not entry:
            continue
        if list(module.parameters()):
            entry["weights_save_input"] = _weights_save_input(torch, module)
        if "inplace" in _parameters(cls):
            inplace_module = _build(cls, arguments, inplace=True)
            if inplace_module is not None:
                observed = _observed_facts(
                    _observe(torch, lambda x, *a, _m=inplace_module: _m(x * 1, *a), _MODULE_SHAPES))
                if "saves_output" in observed:
                    entry["saves_output_inplace"] = observed["saves_output"]
        return entry
    return {}


# Constructions tried for a module's slots, after `_MODULE_ARGUMENTS`: an embedding dim and head count
# (MultiheadAttention, TransformerEncoderLayer), a single size for lazy layers.
_MEMBER_ARGUMENTS = _MODULE_ARGUMENTS + ((4, 2),)


def _module_members(cls) -> dict:
    """The names of a `torch.nn` module's own parameter and buffer slots (None-valued ones included), as built
    by the first construction that works; {} when none builds."""
    for arguments in _MEMBER_ARGUMENTS:
        module = _build(cls, arguments)
        if module is not None:
            return {"parameters": sorted(module._parameters), "buffers": sorted(module._buffers)}
    return {}


def _weights_save_input(torch, module) -> bool:
    """A layer with weights saved its input for their gradient: a write to an input that requires no grad,
    after the call, makes backward() raise (Linear, Conv2d, LayerNorm)."""
    for shape in _MODULE_SHAPES:
        x = torch.rand(*shape, generator=torch.Generator().manual_seed(0)) + 0.5
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = module(x)
        except Exception:
            continue
        if not isinstance(out, torch.Tensor) or not out.requires_grad:
            return False
        x.mul_(1)
        try:
            out.sum().backward()
        except RuntimeError as error:
            return "modified by an inplace operation" in str(error)
        return False
    return False


def _build(cls, arguments=(), **kwargs):
    for extra in ({}, {"dim": -1}) if not arguments else ({},):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch_module = cls(*arguments, **kwargs, **extra)
            return torch_module
        except Exception:
            continue
    return None


def render(table: dict) -> str:
    """One op per line, so a regenerated table diffs op by op."""
    lines = ["{", f'  "about": {json.dumps(table["about"])},', f'  "torch": {json.dumps(table["torch"])},', '  "ops": {']
    items = list(table["ops"].items())
    for index, (name, entry) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        lines.append(f"    {json.dumps(name)}: {json.dumps(entry, sort_keys=True)}{comma}")
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed table; exit 1 if it differs")
    options = parser.parse_args(argv)
    table = generate()
    text = render(table)
    if not options.check:
        TABLE.write_text(text, encoding="utf-8")
        print(f"wrote {TABLE} ({len(table['ops'])} ops, torch {table['torch']})")
        return 0
    committed = TABLE.read_text(encoding="utf-8") if TABLE.exists() else ""
    if committed == text:
        print(f"{TABLE.name} is up to date")
        return 0
    import difflib

    sys.stdout.writelines(difflib.unified_diff(committed.splitlines(True), text.splitlines(True),
                                               "committed", "regenerated", n=0))
    print(f"{TABLE.name} differs from what this torch says: run python tools/torch_table.py", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
