"""Which modules behave differently in training mode: torch's layers whose forward reads `training` (checked on
torch 2.13 by tests/test_gf610_with_torch.py), and the classes of the file or the project that hold one.

A module's class is found through the semantic model (`Net()` of this file), the project index (a class of
another file, through the layers its methods assign to `self`) or its construction (`nn.Sequential(...)`).
Only positive evidence counts: where the file does not show the layers, the answer is None, and a rule stays
silent.
"""
from __future__ import annotations

import ast

from autofix.semantic import Kind, SemanticModel, is_false

_NN = "torch.nn."
# Layers whose forward differs in training mode whatever their arguments (a Dropout whose `p` is the constant 0
# and a BatchNorm built with `track_running_stats=False` excepted, see `_layer`).
ALWAYS = frozenset({"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
                    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LazyBatchNorm1d", "LazyBatchNorm2d",
                    "LazyBatchNorm3d", "SyncBatchNorm", "RReLU"})
# Layers with a `dropout` argument that defaults to 0.1.
DROPOUT_BY_DEFAULT = frozenset({"Transformer", "TransformerEncoderLayer", "TransformerDecoderLayer"})
# Layers that differ only with running statistics (`track_running_stats=True`; the default is False).
TRACKING = frozenset({"InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LazyInstanceNorm1d",
                      "LazyInstanceNorm2d", "LazyInstanceNorm3d"})
# Recurrent layers: dropout between layers only (`dropout > 0` and `num_layers > 1`, both default to off).
RECURRENT = frozenset({"RNN", "LSTM", "GRU"})
_CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})
_MOVERS = frozenset({"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "train", "eval", "requires_grad_"})
_DEPTH = 4


def _constant(call: ast.Call, name: str, position: int | None):
    """The constant an argument is given (`...` when it is given as something else, None when not given)."""
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value.value if isinstance(keyword.value, ast.Constant) else ...
    if position is not None and len(call.args) > position and not any(isinstance(a, ast.Starred) for a in call.args):
        argument = call.args[position]
        return argument.value if isinstance(argument, ast.Constant) else ...
    return None


def _layer(name: str, call: ast.Call | None) -> bool:
    """Is the torch.nn layer `name`, built by `call` (None: arguments not known), one whose forward depends on the
    mode? Unknown arguments count only where the layer differs whatever they are, or by default."""
    if name in ALWAYS:
        if call is None:
            return True
        if name.startswith(("Dropout", "AlphaDropout", "FeatureAlphaDropout")):
            return _constant(call, "p", 0) not in (0, 0.0)
        return not (name != "RReLU" and call is not None and is_false(_given(call, "track_running_stats")))
    if call is None:
        return False
    if name in DROPOUT_BY_DEFAULT:
        dropout = _constant(call, "dropout", None)
        return dropout is None or (isinstance(dropout, (int, float)) and dropout > 0)
    if name in TRACKING:
        return _constant(call, "track_running_stats", None) is True
    if name in RECURRENT:
        dropout, layers = _constant(call, "dropout", None), _constant(call, "num_layers", 2)
        return isinstance(dropout, (int, float)) and dropout > 0 and isinstance(layers, int) and layers > 1
    if name == "MultiheadAttention":
        dropout = _constant(call, "dropout", 2)
        return isinstance(dropout, (int, float)) and dropout > 0
    return False


def _given(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


class ModeLayers:
    """For one file: the first layer found whose forward depends on the mode, per module class and construction,
    as text for a message (`nn.BatchNorm2d`, `self.training`), or None where the file and the index show none."""

    def __init__(self, model: SemanticModel):
        self.model = model
        self._classes: dict[int, str | None] = {}
        self._project: dict[str, str | None] = {}

    def of(self, module: ast.expr, depth: int = 0) -> str | None:
        """The evidence for the module that `module` (an expression at a forward call) holds."""
        model = self.model
        value = model.value(module)
        if value.kind is not Kind.MODULE:
            return None
        local = model.local_class_of(value)
        if local is not None:
            return self.of_class(local, 0)
        cls = value.cls or ""
        if cls.startswith(_NN):
            name = cls[len(_NN):]
            if name in ALWAYS:
                return f"nn.{name}"
            return self._constructions(module, depth)
        if cls and model.project is not None:
            return self.of_project_class(cls, 0)
        return None

    def _passed(self, name: str, function: ast.AST | None, depth: int) -> str | None:
        """A parameter: what every call of the function in the file passes for it (each must show a layer)."""
        sites = self.model.call_sites.of(function) if function is not None and depth < _DEPTH else None
        if not sites:
            return None
        positional = [a.arg for a in function.args.posonlyargs + function.args.args]
        found = None
        for site in sites:
            call = site.call
            if call is None or site.given is not None or site.element_of is not None or name not in positional \
                    or any(isinstance(a, ast.Starred) for a in call.args):
                return None
            index = positional.index(name) - site.offset
            argument = call.args[index] if 0 <= index < len(call.args) else next(
                (k.value for k in call.keywords if k.arg == name), None)
            found = self.of(argument, depth + 1) if argument is not None else None
            if found is None:
                return None
        return found

    def _constructions(self, module: ast.expr, depth: int) -> str | None:
        """A torch module built here (`nn.Sequential(nn.Linear(4, 8), nn.Dropout())`): the layers in its
        construction, when one binding of a name (or the attribute's assignments) shows it."""
        model = self.model
        values: list[ast.AST] = []
        if isinstance(module, ast.Name):
            bindings = model.bindings_reaching(module.id, module) or []
            if len(bindings) == 1 and bindings[0].kind == "param":
                return self._passed(module.id, model.function(module), depth)
            if not bindings or any(b.kind != "assign" or b.path for b in bindings):
                return None
            values = [b.value for b in bindings]
        elif isinstance(module, ast.Attribute) and isinstance(module.value, ast.Name) and module.value.id == "self":
            function = model.function(module)
            cls = model.enclosing_class(function) if function is not None else None
            if cls is None:
                return None
            values = [v for v, _ in model.class_attribute(cls, module.attr)]
        for value in values:
            found = self._in_expression(value, 0) if value is not None else None
            if found is not None:
                return found
        return None

    def _in_expression(self, expr: ast.AST, depth: int) -> str | None:
        """The first mode-dependent layer an expression builds (a layer, a container of layers, a class of this file
        or the project)."""
        for node in ast.walk(expr):
            if not isinstance(node, ast.Call):
                continue
            found = self._built_by(node, depth)
            if found is not None:
                return found
        return None

    def _built_by(self, call: ast.Call, depth: int) -> str | None:
        model = self.model
        local = model.local_class(call.func)
        if local is not None:
            return self.of_class(local, depth + 1) if model.is_module_class_def(local) else None
        qualified = model.qualified_name(call.func) or ""
        if qualified.startswith(_NN) and "." not in qualified[len(_NN):]:
            name = qualified[len(_NN):]
            return f"nn.{name}" if _layer(name, call) else None
        if qualified.startswith("torch.nn.functional.") and _given(call, "training") is not None:
            return None  # `F.dropout(x, p, training=self.training)`: its `self.training` read counts
        if qualified and model.project is not None and model.project.is_module_class(qualified):
            return self.of_project_class(qualified, depth + 1)
        return None

    def of_class(self, cls: ast.ClassDef, depth: int) -> str | None:
        """A class of this file: a layer its methods build, a `self.training` read, or its bases'."""
        key = id(cls)
        if key in self._classes:
            return self._classes[key]
        self._classes[key] = None  # a cycle finds nothing more
        found = None
        if depth <= _DEPTH:
            for node in ast.walk(cls):
                if isinstance(node, ast.Attribute) and node.attr == "training" and isinstance(node.value, ast.Name) \
                        and node.value.id == "self" and isinstance(node.ctx, ast.Load):
                    found = f"{cls.name}.forward reads self.training"
                elif isinstance(node, ast.Call):
                    found = self._built_by(node, depth)
                if found is not None:
                    break
            for base in cls.bases if found is None else ():
                local = self.model.local_class(base)
                qualified = self.model.qualified_name(base)
                if local is not None and local is not cls:
                    found = self.of_class(local, depth + 1)
                elif qualified and self.model.project is not None:
                    found = self.of_project_class(qualified, depth + 1)
                if found is not None:
                    break
        self._classes[key] = found
        return found

    def of_project_class(self, qualified: str, depth: int) -> str | None:
        """A class of another file of the project: a layer one of its methods assigns to `self` (the index keeps
        what each attribute is built as, not the arguments: only layers that differ whatever they are count)."""
        if qualified in self._project:
            return self._project[qualified]
        self._project[qualified] = None
        found = None
        definition = self.model.project.canonical_class(qualified) if depth <= _DEPTH else None
        if definition is not None:
            _, entry = definition
            for made in entry.get("attributes", {}).values():
                built = made.get("new") if isinstance(made, dict) else None
                if not built:
                    continue
                if built.startswith(_NN) and built[len(_NN):] in ALWAYS:
                    found = f"nn.{built[len(_NN):]}"
                elif self.model.project.is_module_class(built):
                    found = self.of_project_class(built, depth + 1)
                if found is not None:
                    break
            for base in entry.get("bases", []) if found is None else ():
                if base and not base.startswith("torch."):
                    found = self.of_project_class(base, depth + 1)
                    if found is not None:
                        break
        self._project[qualified] = found
        return found
