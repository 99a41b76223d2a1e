"""What the GF6xx rules (silent training killers: registration, optimizer set-up, train/eval mode) ask of a file.

Each helper is a question about what a value holds, answered on the semantic model. They live here until the
model grows the same queries (see the report of the rule that added them):

- `fresh_state(model, expr)`: does `expr` construct a layer that owns parameters (or an `nn.Parameter`)?
- `module_name(...)`: how a fix spells `torch.nn.<Class>` with the names the file binds.
"""
from __future__ import annotations

import ast
import re

from autofix.lazy import libcst as cst
from autofix.rule import AddImport
from autofix.semantic import Kind, SemanticModel
from codemods._gf5 import PARAMETER_CLASSES
from codemods._torch import Imports, ScopeNode

# torch.nn layers that own parameters by default. Activations, dropout, pooling and the like own none: held
# in a plain list they lose nothing that training needs (InstanceNorm is affine=False by default).
_WEIGHTED = re.compile(
    r"^torch\.nn\.(modules\.\w+\.)?(Linear|Bilinear|LazyLinear|Conv[123]d|ConvTranspose[123]d|LazyConv\w*"
    r"|Embedding|EmbeddingBag|RNN|LSTM|GRU|RNNCell|LSTMCell|GRUCell|BatchNorm[123]d|SyncBatchNorm|LayerNorm"
    r"|GroupNorm|RMSNorm|LocalResponseNorm|MultiheadAttention|Transformer\w*|PReLU)$"
)
# Containers whose state is whatever they are given.
_CONTAINERS = re.compile(r"^torch\.nn\.(modules\.container\.)?(Sequential|ModuleList|ModuleDict)$")
_MOVERS = frozenset({"to", "cuda", "cpu", "double", "float", "half", "bfloat16", "type", "requires_grad_", "train"})
# Calls that register a module or parameter under a name: a class that makes them may register what a plain
# list holds, in a way this file does not spell out.
REGISTERING_METHODS = frozenset({"add_module", "register_module", "register_parameter", "register_buffer"})


def strip_movers(expr: ast.AST) -> ast.AST:
    """`nn.Linear(4, 2).to(device)` -> `nn.Linear(4, 2)`: a module's `.to()`/`.cuda()` return the module itself."""
    while (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in _MOVERS):
        expr = expr.func.value
    return expr


def fresh_state(model: SemanticModel, expr: ast.AST, _depth: int = 0) -> str | None:
    """"module" when `expr` constructs a layer that owns parameters (a weighted torch.nn layer, a Sequential of
    one, or a module class of this file that makes parameters or weighted layers), "parameter" when it
    constructs an `nn.Parameter` (not frozen with `requires_grad=False`), else None."""
    call = strip_movers(expr)
    if not isinstance(call, ast.Call) or _depth > 4:
        return None
    qualified = model.qualified_name(call.func)
    if qualified in PARAMETER_CLASSES:
        frozen = any(k.arg == "requires_grad" and isinstance(k.value, ast.Constant) and k.value.value is False
                     for k in call.keywords)
        return None if frozen else "parameter"
    if qualified is not None:
        if _WEIGHTED.match(qualified):
            return "module"
        if _CONTAINERS.match(qualified):
            members = [a.value if isinstance(a, ast.Starred) else a for a in call.args]
            for member in members:
                elements = member.elts if isinstance(member, (ast.List, ast.Tuple)) else [
                    member.elt] if isinstance(member, (ast.ListComp, ast.GeneratorExp)) else [member]
                if any(fresh_state(model, e, _depth + 1) == "module" for e in elements):
                    return "module"
        return None
    local = model.local_class(call.func)
    if local is not None and model.is_module_class_def(local) and _class_makes_state(model, local, _depth):
        return "module"
    return None


def _class_makes_state(model: SemanticModel, cls: ast.ClassDef, depth: int, _seen: frozenset = frozenset()) -> bool:
    """A module class of this file (or one of its local bases) constructs a parameter or a weighted layer."""
    if id(cls) in _seen:
        return False
    for node in ast.walk(cls):
        if isinstance(node, ast.Call) and fresh_state(model, node, depth + 1) is not None:
            return True
    for base in cls.bases:
        local = model.local_class(base)
        if local is not None and _class_makes_state(model, local, depth, _seen | {id(cls)}):
            return True
    return False


def self_name(function: ast.AST) -> str | None:
    """The name of a method's first parameter (`self`), unless it is a static or class method."""
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    if any(isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod") for d in function.decorator_list):
        return None
    args = function.args.posonlyargs + function.args.args
    return args[0].arg if args else None


def module_value(model: SemanticModel, expr: ast.AST) -> bool:
    return model.value(expr).kind is Kind.MODULE


def module_name(imports: Imports, chain: list[ScopeNode], cls: str) -> tuple[cst.BaseExpression, AddImport | None]:
    """An expression for `torch.nn.<cls>` in the scope `chain`, and the import to add when nothing binds torch."""
    bound = imports.bound_to(f"torch.nn.{cls}", chain)
    if bound is not None:
        return cst.Name(bound), None
    nn, request = imports.torch_attr("nn", chain)
    return cst.Attribute(nn, cst.Name(cls)), request
