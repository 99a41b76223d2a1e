"""Which activation (softmax, log_softmax, sigmoid; exp of log_softmax counts as softmax) produced a tensor, or that
an affine layer (`nn.Linear`, `nn.Conv2d`, ...) produced it with nothing after it (raw logits), as the GF604 rule
asks it of the semantic model.

The model's `Value.origin` names the operation that made a tensor; this module follows it a little further than
one expression: through shape-only operations (`.view()`, `.float()`, ...), names bound once, the last layer of an
`nn.Sequential` built in this file, and the `return`s of a `forward` of a module class of this file (`model(x)`).
Each step asks the model what an expression holds; nothing is read from a spelling.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from autofix.semantic import MOVERS, FUNCTIONS, Kind, SemanticModel, keyword

SOFTMAX = "softmax"
LOG_SOFTMAX = "log_softmax"
SIGMOID = "sigmoid"
RAW = "raw logits"  # the output of an affine layer, with no activation after it
_CLASS_DIM = frozenset({SOFTMAX, LOG_SOFTMAX})  # activations over a dimension: only the class dimension counts

_FUNCTIONS = {
    "torch.softmax": SOFTMAX, "torch.nn.functional.softmax": SOFTMAX, "torch.special.softmax": SOFTMAX,
    "torch.sigmoid": SIGMOID, "torch.nn.functional.sigmoid": SIGMOID, "torch.special.expit": SIGMOID,
    "torch.log_softmax": LOG_SOFTMAX, "torch.nn.functional.log_softmax": LOG_SOFTMAX,
    "torch.special.log_softmax": LOG_SOFTMAX,
}
_METHODS = {"Tensor.softmax": SOFTMAX, "Tensor.sigmoid": SIGMOID, "Tensor.log_softmax": LOG_SOFTMAX}
_MODULES = {
    "torch.nn.Softmax": SOFTMAX, "torch.nn.modules.activation.Softmax": SOFTMAX,
    "torch.nn.Sigmoid": SIGMOID, "torch.nn.modules.activation.Sigmoid": SIGMOID,
    "torch.nn.LogSoftmax": LOG_SOFTMAX, "torch.nn.modules.activation.LogSoftmax": LOG_SOFTMAX,
}
# Affine layers: what they output, with nothing after them, is raw logits (not log-probabilities).
_AFFINE = {f"torch.nn.{name}" for name in ("Linear", "LazyLinear", "Bilinear", "Conv1d", "Conv2d", "Conv3d")} | {
    f"torch.nn.modules.{module}.{name}" for module, name in (("linear", "Linear"), ("linear", "LazyLinear"),
    ("linear", "Bilinear"), ("conv", "Conv1d"), ("conv", "Conv2d"), ("conv", "Conv3d"))}
_EXP = frozenset({"torch.exp", "torch.special.exp"})
_SEQUENTIAL = frozenset({"torch.nn.Sequential", "torch.nn.modules.container.Sequential"})
# Tensor methods that change a tensor's shape, dtype or device but not its values.
_SHAPE_ONLY = MOVERS | frozenset({"view", "reshape", "view_as", "reshape_as", "flatten", "squeeze", "unsqueeze",
                                  "permute", "transpose", "t", "contiguous", "clone"})
_DEPTH = 8


@dataclass(frozen=True)
class Activation:
    kind: str  # SOFTMAX, LOG_SOFTMAX, SIGMOID or RAW
    node: ast.AST  # the call that applies it (or, for a layer of a Sequential, the layer's construction)
    inline: bool  # reached from the starting expression through its own syntax only (no name, no forward)
    forward: ast.AST | None = None  # the `forward` whose return applies it, when reached through a model call
    exp: bool = False  # a softmax computed as exp(log_softmax(...)); `node` is the exp call


def activation_of(model: SemanticModel, expr: ast.AST, _depth: int = 0, _inline: bool = True) -> Activation | None:
    """The activation (or affine layer) that produced the tensor `expr` holds, where the file shows it; else None.

    A softmax over a dimension other than 1 or -1 (or one this file does not show) is not the class softmax a
    loss would repeat, and is not returned."""
    if _depth > _DEPTH:
        return None
    if isinstance(expr, ast.Name):
        return _through_bindings(model, expr, _depth)
    if not isinstance(expr, ast.Call):
        return None
    func = expr.func
    qualified = model.qualified_name(func)
    if qualified in _FUNCTIONS:
        kind = _FUNCTIONS[qualified]
        if kind in _CLASS_DIM and not _class_dimension(_argument(expr, 1, "dim")):
            return None
        return Activation(kind, expr, _inline)
    if qualified in _EXP and len(expr.args) == 1 and not expr.keywords:
        return _exp_of(model, expr, expr.args[0], _depth, _inline)
    if qualified is not None:
        return None
    if isinstance(func, ast.Attribute):
        origin = model.value(expr).origin
        if func.attr in (SOFTMAX, SIGMOID, LOG_SOFTMAX) and origin in _METHODS and model.is_tensor(func.value):
            kind = _METHODS[origin]
            if kind in _CLASS_DIM and not _class_dimension(_argument(expr, 0, "dim")):
                return None
            return Activation(kind, expr, _inline)
        if func.attr == "exp" and not expr.args and not expr.keywords and model.is_tensor(func.value):
            return _exp_of(model, expr, func.value, _depth, _inline)
        if func.attr in _SHAPE_ONLY and model.is_tensor(func.value):
            return activation_of(model, func.value, _depth + 1, _inline)
    callee = model.value(func)
    if callee.kind is not Kind.MODULE:
        return None
    if callee.cls in _MODULES:
        return Activation(_MODULES[callee.cls], expr, _inline)
    if callee.cls in _AFFINE:
        return Activation(RAW, expr, _inline)
    if callee.cls in _SEQUENTIAL:
        last = _last_layer(model, func)
        layer = model.value(last).cls if last is not None else None
        if layer in _MODULES:
            return Activation(_MODULES[layer], last, False)
        if layer in _AFFINE:
            return Activation(RAW, last, False)
        return None
    if callee.cls and callee.cls.startswith("<local>."):
        return _through_forward(model, callee.cls.split(".", 1)[1], _depth)
    return None


def _exp_of(model: SemanticModel, call: ast.Call, inner: ast.AST, depth: int, inline: bool) -> Activation | None:
    """`exp(log_softmax(x))` is softmax(x): probabilities."""
    found = activation_of(model, inner, depth + 1, inline)
    if found is None or found.kind != LOG_SOFTMAX:
        return None
    return Activation(SOFTMAX, call, inline, found.forward, exp=True)


def _through_bindings(model: SemanticModel, name: ast.Name, depth: int) -> Activation | None:
    bindings = model.bindings_reaching(name.id, name)
    if not bindings or any(b.kind not in ("assign", "ann") or b.path or b.value is None for b in bindings):
        return None
    found = [activation_of(model, b.value, depth + 1, False) for b in bindings]
    if any(f is None for f in found) or len({f.kind for f in found}) != 1:
        return None
    return Activation(found[0].kind, found[0].node, False, found[0].forward, found[0].exp)


def _through_forward(model: SemanticModel, class_name: str, depth: int) -> Activation | None:
    """Every `return` of the class's `forward` gives the same activation (a forward that returns logits in
    training and probabilities in eval is not reported)."""
    classes = model.classes_named(class_name)
    if len(classes) != 1 or not model.is_module_class_def(classes[0]):
        return None
    forward = _forward_of(model, classes[0])
    if forward is None:
        return None
    returns = [r for r in model.nodes(ast.Return) if model.function(r) is forward]
    if not returns or any(r.value is None for r in returns):
        return None
    found = [activation_of(model, r.value, depth + 1, False) for r in returns]
    if any(f is None for f in found) or len({f.kind for f in found}) != 1:
        return None
    return Activation(found[0].kind, found[0].node, False, forward, found[0].exp)


def _forward_of(model: SemanticModel, cls: ast.ClassDef, depth: int = 0) -> ast.AST | None:
    for statement in cls.body:
        if isinstance(statement, FUNCTIONS) and statement.name == "forward":
            return statement
    if depth < 4:
        for base in cls.bases:
            local = model.local_class(base)
            if local is not None and local is not cls:
                found = _forward_of(model, local, depth + 1)
                if found is not None:
                    return found
    return None


def _last_layer(model: SemanticModel, container: ast.AST) -> ast.AST | None:
    """The last layer of the `nn.Sequential(...)` that `container` (a name, or `self.x`) was built as, when it
    was built exactly once in this file from positional layers."""
    if isinstance(container, ast.Name):
        bindings = model.bindings_reaching(container.id, container) or []
        if len(bindings) != 1 or bindings[0].kind != "assign" or bindings[0].path:
            return None
        built = bindings[0].value
    elif isinstance(container, ast.Attribute) and isinstance(container.value, ast.Name):
        function = model.function(container)
        cls = model.enclosing_class(function) if function is not None else None
        if cls is None:
            return None
        assigned = [v for v, _ in model.class_attribute(cls, container.attr)]
        if len(assigned) != 1:
            return None
        built = assigned[0]
    else:
        return None
    if not isinstance(built, ast.Call) or model.qualified_name(built.func) not in _SEQUENTIAL:
        return None
    if built.keywords or not built.args or any(isinstance(a, ast.Starred) for a in built.args):
        return None
    return built.args[-1]


def _argument(call: ast.Call, position: int, name: str) -> ast.AST | None:
    if len(call.args) > position and not any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
        return call.args[position]
    found = keyword(call, name)
    return found if found is not None else _MISSING


_MISSING = ast.Constant(value=None)  # the argument is not given (softmax's implicit dim is the class dim for 2-D)


def _class_dimension(dim: ast.AST | None) -> bool:
    """The softmax runs over the class dimension a classification loss uses: dim 1 or -1, or left implicit."""
    if dim is _MISSING:
        return True
    if isinstance(dim, ast.UnaryOp) and isinstance(dim.op, ast.USub) and isinstance(dim.operand, ast.Constant):
        return dim.operand.value == 1
    return isinstance(dim, ast.Constant) and type(dim.value) is int and dim.value == 1


def input_of_activation(model: SemanticModel, call: ast.Call) -> ast.AST | None:
    """What an activation call is applied to: `x` in `F.softmax(x, 1)`, `x.softmax(1)`, `nn.Softmax(1)(x)`."""
    if model.qualified_name(call.func) in _FUNCTIONS:
        if call.args and not isinstance(call.args[0], ast.Starred):
            return call.args[0]
        return keyword(call, "input")
    if model.qualified_name(call.func) in _EXP:
        return call.args[0] if len(call.args) == 1 else None
    if isinstance(call.func, ast.Attribute) and call.func.attr == "exp" and not call.args:
        return call.func.value
    if isinstance(call.func, ast.Attribute) and call.func.attr in (SOFTMAX, SIGMOID, LOG_SOFTMAX) \
            and model.value(call).origin in _METHODS:
        return call.func.value
    if len(call.args) == 1 and not call.keywords and not isinstance(call.args[0], ast.Starred):
        return call.args[0]  # a layer call
    return None
