"""What torch's own layers hold, as a source of evidence: the parameter slots of the torch table.

`tools/torch_table.py` builds every `torch.nn` class and records the names of its own parameter slots; this
module answers, for the model, what an attribute of a layer holds through them:

- `rnn.weight_hh_l0` of an `nn.LSTM`, `attn.in_proj_weight` of an `nn.MultiheadAttention`: a parameter;
- `self.weight` in a subclass of `nn.Linear` (of this file, of another file of the project, or of an installed
  library) that does not set `weight` itself: the layer's parameter. A class between it and torch that assigns,
  registers, deletes or `setattr`s the name, or binds it in its body (a property), hides the slot; so does a base
  that comes first and cannot be read.
"""
from __future__ import annotations

import ast

from autofix.semantic import torch_ops
from autofix.semantic.lattice import Kind, Value
from autofix.semantic.scopes import FUNCTIONS
from autofix.semantic.syntax import _keyword
from autofix.semantic.torch_knowledge import is_module_class, layer_slot

_MODULE = ("torch.nn.Module", "torch.nn.modules.module.Module")


def class_slot(model, cls: str | None, attribute: str) -> Value | None:
    """`attribute` of a module of class `cls` that torch's layer (or the one it derives from) holds: a
    parameter slot of the torch table. None when the class, or a class between it and torch, may set it."""
    if not cls or attribute not in torch_ops.parameter_slot_names():
        return None
    if is_module_class(cls):
        return layer_slot(cls, attribute)
    if cls.startswith("<local>."):
        local = model.local_class_of(Value(Kind.MODULE, cls=cls))
        return inherited_slot(model, local, attribute) if local is not None else None
    return model.project.torch_slot(cls, attribute) if model.project is not None else None


def inherited_slot(model, cls: ast.ClassDef | None, attribute: str, depth: int = 0) -> Value | None:
    """`self.<attribute>` in a class of the model's file that does not set it itself, through its bases in
    order, down to a torch.nn layer that holds it: `self.weight` in a subclass of nn.Linear. None when a base
    that comes first may set it (a class that cannot be read)."""
    if cls is None or depth > 5 or attribute not in torch_ops.parameter_slot_names() \
            or sets_attribute(model, cls, attribute):
        return None
    for base in cls.bases:
        qualified = model.qualified_name(base)
        if qualified and is_module_class(qualified):
            return layer_slot(qualified, attribute)
        local = model.local_class(base)
        if local is not None and local is not cls:
            found = inherited_slot(model, local, attribute, depth + 1)
        elif qualified and model.project is not None:
            found = model.project.torch_slot(qualified, attribute)
        else:
            return None
        if found is not None:
            return found
        if qualified not in _MODULE:
            return None  # that base may set it in a way the model cannot see
    return None


def sets_attribute(model, cls: ast.ClassDef, attribute: str) -> bool:
    """The class itself gives instances `attribute` some other way than its torch base does: assigns,
    registers, deletes or `setattr`s it, or defines it in its body (a property, a method, a class attribute)."""
    if model._class_attributes.get(id(cls), {}).get(attribute):  # `self.<attribute> = ...` in its own methods
        return True
    for statement in cls.body:
        targets = statement.targets if isinstance(statement, ast.Assign) else \
            [statement.target] if isinstance(statement, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == attribute for t in targets):
            return True
        if isinstance(statement, (*FUNCTIONS, ast.ClassDef)) and statement.name == attribute:
            return True
    names = _set_dynamically(model).get(id(cls), ())
    return attribute in names or "*" in names


def _set_dynamically(model) -> dict[int, set[str]]:
    """Class (by id) -> the attribute names its code registers, deletes, `setattr`s or `delattr`s on anything
    ("*": a name that is not a constant). Computed once per file, kept on the model."""
    found = getattr(model, "_layers_dynamic", None)
    if found is not None:
        return found
    found = {}

    def record(node: ast.AST, name: ast.AST | None) -> None:
        cls = next((a for a in model.ancestors(node) if isinstance(a, ast.ClassDef)), None)
        if cls is not None:
            found.setdefault(id(cls), set()).add(
                name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else "*")

    for call in model.calls_to_method("register_parameter", "register_buffer", "register_module", "add_module"):
        record(call, registration(call)[0] if call.func.attr in ("register_parameter", "register_buffer")
               else call.args[0] if call.args else _keyword(call, "name"))
    for node in model.nodes(ast.Delete):
        for target in node.targets:
            if isinstance(target, ast.Attribute):
                record(node, ast.Constant(target.attr))
    for call in model.nodes(ast.Call):
        if isinstance(call.func, ast.Name) and call.func.id in ("setattr", "delattr"):
            record(call, call.args[1] if len(call.args) >= 2 else None)
    model._layers_dynamic = found
    return found


def registration(call: ast.Call) -> tuple[ast.AST | None, ast.AST | None]:
    """The name and the value of `register_parameter(name, param)` / `register_buffer(name, tensor)`, given
    positionally or by keyword (torch 2.13's parameter names)."""
    held_keyword = "param" if call.func.attr == "register_parameter" else "tensor"
    name = call.args[0] if call.args else _keyword(call, "name")
    held = call.args[1] if len(call.args) >= 2 else _keyword(call, held_keyword)
    return name, held
