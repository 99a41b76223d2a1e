"""What the GF5xx rules (parameter and optimizer set-up) ask of a file's ast, on top of the semantic model.

Detection: moves and the chains they form, whether a move is provably a no-op, what an optimizer is given,
and where a statement runs unconditionally. Fixing: the LibCST chain of moves at a finding (the edits
themselves are built with `codemods._torch`).
"""
from __future__ import annotations

import ast
from collections.abc import Iterator

from autofix.lazy import libcst as cst
from autofix.semantic import FACTORIES, MOVERS, Kind, SemanticModel, dotted, keyword, torch_ops
from codemods._torch import mover_chain

PARAMETER_CLASSES = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter"})

# torch.X(...) factories that accept `requires_grad=` and make a fresh leaf (torch table: not randint, randperm,
# tril_indices, ..., whose integer results cannot require grad).
GRAD_FACTORIES = frozenset(f for f in FACTORIES if torch_ops.accepts_requires_grad(f"torch.{f}"))
# Factories whose result is floating point in the default dtype (float32, unless the file changes it)
# when no dtype= is given and the arguments are ints (torch table: zeros, rand, eye, linspace; not arange).
_DEFAULT_FLOAT = frozenset(f for f in FACTORIES if torch_ops.default_float(f"torch.{f}"))
_DTYPES = {
    "torch.float32": "float32", "torch.float": "float32",
    "torch.float64": "float64", "torch.double": "float64",
    "torch.float16": "float16", "torch.half": "float16",
    "torch.bfloat16": "bfloat16",
}
_CAST_TO = {"float": "float32", "double": "float64", "half": "float16", "bfloat16": "bfloat16"}


def is_move(node: ast.AST | None) -> bool:
    """`x.to(...)`, `x.cuda()`, `x.double()`, ...: a call that returns its receiver moved or cast.

    `x.type()` with no argument returns a string and `x.to()` returns `x`: neither is a move."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MOVERS):
        return False
    return not (node.func.attr in ("to", "type") and not node.args and not node.keywords)


def moved_chains(model: SemanticModel) -> Iterator[tuple[ast.Call, ast.AST, list[ast.Call]]]:
    """Every outermost chain of moves in the file: (the outermost call, the expression moved, the moves
    innermost first). `base.cuda().double()` yields once, for the `.double()` call."""
    for call in model.calls_to_method(*MOVERS):
        if not is_move(call):
            continue
        attribute = model.parent(call)
        if isinstance(attribute, ast.Attribute) and is_move(model.parent(attribute)):
            continue  # the receiver of another move: its chain is reported from the outer call
        moves = []
        expr: ast.AST = call
        while is_move(expr):
            moves.append(expr)
            expr = expr.func.value
        moves.reverse()
        yield call, expr, moves


def torch_factory(model: SemanticModel, expr: ast.AST) -> str | None:
    """For `torch.zeros(...)` (through any import): "zeros"; None for anything else."""
    if not isinstance(expr, ast.Call):
        return None
    qualified = model.qualified_name(expr.func) or ""
    if qualified.startswith("torch.") and qualified.count(".") == 1 and qualified[6:] in FACTORIES:
        return qualified[6:]
    return None


def created_as(model: SemanticModel, expr: ast.AST) -> tuple[str | None, str | None]:
    """(dtype, device) of a tensor that a torch factory call makes, where the call says (None: unknown).

    `torch.zeros(3)` is ("float32", "cpu") unless the file changes the default dtype or device."""
    if not isinstance(expr, ast.Call):
        return None, None
    name = torch_factory(model, expr)
    if name is None:
        if model.qualified_name(expr.func) == "torch.Tensor" and not expr.keywords:
            name = "empty"  # the legacy constructor: an uninitialised float32 CPU tensor
        else:
            return None, None
    dtype_arg = keyword(expr, "dtype")
    if dtype_arg is not None:
        dtype = _DTYPES.get(model.qualified_name(dtype_arg) or "")
    elif name in _DEFAULT_FLOAT and "set_default_dtype" not in model.text:
        dtype = "float32"
    else:
        dtype = None
    device_arg = keyword(expr, "device")
    if device_arg is None:
        # tensor()/as_tensor() and the *_like factories take the device of their data.
        inherits = name.endswith("_like") or name in ("tensor", "as_tensor")
        device = "cpu" if not inherits and "set_default_device" not in model.text else None
    elif isinstance(device_arg, ast.Constant) and device_arg.value in ("cpu", "cuda"):
        device = device_arg.value
    else:
        device = None
    return dtype, device


def moves_nothing(model: SemanticModel, moves: list[ast.Call], dtype: str | None, device: str | None) -> bool:
    """True when every move in the chain provably returns its receiver itself (checked on torch 2.13:
    `.float()` of a float32 tensor, `.cpu()` / `.to("cpu")` of a CPU tensor, `.to(torch.float32)` of a
    float32 one are the same tensor, still a leaf). Anything unknown counts as a real move."""
    for move in moves:
        method = move.func.attr
        if method in _CAST_TO:
            if move.args or move.keywords or dtype != _CAST_TO[method]:
                return False
        elif method == "cpu":
            if move.args or move.keywords or device != "cpu":
                return False
        elif method == "cuda":
            if move.args or move.keywords or device != "cuda":
                return False
        else:  # to / type with one argument
            arguments = [*move.args, *(k.value for k in move.keywords if k.arg in ("dtype", "device"))]
            if len(arguments) != 1 or len(move.args) + len(move.keywords) != 1:
                return False
            target = arguments[0]
            if _DTYPES.get(model.qualified_name(target) or "") == dtype and dtype is not None:
                continue
            if method == "to" and isinstance(target, ast.Constant) and target.value == "cpu" and device == "cpu":
                continue
            return False
    return True


def already_moved(model: SemanticModel, data: ast.AST, moves: list[ast.Call]) -> bool:
    """`x = value.to(device)` and then `Parameter(x).to(device)`, with the same `device` binding: the second move
    has nothing left to do, so it returns its receiver itself (`Tensor.to` returns self when dtype and device
    already match; torch 2.13)."""
    if len(moves) != 1 or not isinstance(data, ast.Name):
        return False
    move = moves[0]
    if move.func.attr != "to" or len(move.args) != 1 or move.keywords:
        return False
    bindings = model.bindings_reaching(data.id, data)
    if not bindings or len(bindings) != 1 or bindings[0].kind != "assign" or bindings[0].path:
        return False
    earlier = bindings[0].value
    if not (isinstance(earlier, ast.Call) and isinstance(earlier.func, ast.Attribute) and earlier.func.attr == "to"
            and len(earlier.args) == 1 and not earlier.keywords):
        return False
    first, second = earlier.args[0], move.args[0]
    if dotted(first) is None or dotted(first) != dotted(second):
        return False
    root_first, root_second = _root(first), _root(second)
    return model.bindings_reaching(root_first.id, root_first) == model.bindings_reaching(root_second.id, root_second)


def _root(expr: ast.AST) -> ast.Name:
    while isinstance(expr, ast.Attribute):
        expr = expr.value
    return expr


def optimizer_calls(model: SemanticModel) -> Iterator[ast.Call]:
    """`torch.optim.X(...)` constructions, known as optimizers by the model."""
    for call in model.nodes(ast.Call):
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name[:1].isupper() and call.args and model.value(call).kind is Kind.OPTIMIZER:
            yield call


def optimized_tensors(model: SemanticModel, optimizer: ast.Call) -> Iterator[ast.AST]:
    """The tensors an optimizer is given, as written: `[a, b]`, `(a,)`, `[{'params': [a]}, ...]`, or a
    name bound (once, just before) to such a list."""
    yield from _listed(model, optimizer.args[0], follow=True)


def _listed(model: SemanticModel, params: ast.AST, follow: bool) -> Iterator[ast.AST]:
    if follow and isinstance(params, ast.Name):
        bindings = model.bindings_reaching(params.id, params) or []
        if len(bindings) == 1 and bindings[0].kind == "assign" and not bindings[0].path:
            yield from _listed(model, bindings[0].value, follow=False)
        return
    if not isinstance(params, (ast.List, ast.Tuple)):
        return
    for element in params.elts:
        if isinstance(element, ast.Starred):
            continue
        if isinstance(element, ast.Dict):
            for key, value in zip(element.keys, element.values):
                if isinstance(key, ast.Constant) and key.value == "params":
                    yield from _listed(model, value, follow=False)
        else:
            yield element


def unconditional(model: SemanticModel, node: ast.AST) -> bool:
    """`node` runs whenever its function (or module) body runs: not inside an `if`, `try`, conditional
    expression or loop of its own scope (a `with` block is fine)."""
    for ancestor in model.ancestors(node):
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)):
            return True
        if isinstance(ancestor, (ast.If, ast.IfExp, ast.Try, ast.While, ast.For, ast.AsyncFor, ast.BoolOp)):
            return False
        if hasattr(ast, "TryStar") and isinstance(ancestor, ast.TryStar):
            return False
        if isinstance(ancestor, (ast.comprehension, ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)):
            return False
    return True


def binds(model: SemanticModel, name: ast.Name, value: ast.AST) -> bool:
    """`name` (a use) may hold what the assignment of `value` bound."""
    return any(b.value is value for b in model.bindings_reaching(name.id, name) or ())


def chain_at(finding, tree) -> tuple[cst.Call, cst.Call, list[cst.Call]] | None:
    """For a finding reported at a chain of moves on a call (`nn.Parameter(t).cuda()`): the LibCST nodes
    (the outermost move, the call moved, the moves innermost first); None if the tree no longer has them."""
    node = tree.node_at(finding.range, cst.Call)
    if node is None:
        return None
    base, moves = mover_chain(node)
    if not isinstance(base, cst.Call) or not moves:
        return None
    return node, base, moves
