"""What is a `GradScaler` (automatic mixed precision), and which gradients it has scaled, as GF603 asks.

The semantic model does not type `torch.amp.GradScaler(...)` (it is neither a tensor, a module nor an optimizer):
a scaler is recognised here from what the file shows it was built as (a name or `self.x` assigned a GradScaler
in every binding, or annotated as one), or, where the file does not show that, from call shapes no other object
has in the same function: `X.scale(loss).backward()` together with `X.step(optimizer)` or `X.unscale_(optimizer)`.
"""
from __future__ import annotations

import ast

from autofix.semantic import FUNCTIONS, SemanticModel, dotted, is_false, keyword
from codemods._steps import own_nodes, single_call

SCALER_CLASSES = frozenset({
    "torch.GradScaler", "torch.amp.GradScaler", "torch.amp.grad_scaler.GradScaler",
    "torch.cuda.amp.GradScaler", "torch.cuda.amp.grad_scaler.GradScaler", "torch.cpu.amp.GradScaler",
    "torch.distributed.fsdp.sharded_grad_scaler.ShardedGradScaler",
})


def constructions(model: SemanticModel, expr: ast.AST) -> list[ast.AST] | None:
    """What the file assigns to `expr` (a name, or `self.x` in a method): the values of its bindings (a
    parameter's annotation for a parameter), `= None`s left out; None when the file does not show them all."""
    if isinstance(expr, ast.Name):
        bindings = model.bindings_reaching(expr.id, expr)
        if not bindings:
            return None
        found = []
        for binding in bindings:
            if binding.kind == "param" and isinstance(binding.node, ast.arg) and binding.node.annotation is not None:
                found.append(binding.node.annotation)
            elif binding.kind in ("assign", "ann") and not binding.path and binding.value is not None:
                found.append(binding.value)
            else:
                return None
        return [v for v in found if not (isinstance(v, ast.Constant) and v.value is None)] or None
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        function = model.function(expr)
        if not isinstance(function, FUNCTIONS):
            return None
        positional = function.args.posonlyargs + function.args.args
        cls = model.enclosing_class(function)
        if cls is None or not positional or positional[0].arg != expr.value.id:
            return None
        assigned = [v for v, _ in model.class_attribute(cls, expr.attr)]
        if not assigned or any(v is None for v in assigned):
            return None
        return [v for v in assigned if not (isinstance(v, ast.Constant) and v.value is None)] or None
    return None


def scaler_built(model: SemanticModel, expr: ast.AST) -> str | None:
    """"enabled" when the file shows `expr` is a GradScaler that may be enabled, "disabled" when every
    construction passes `enabled=False`, None when it does not show a GradScaler."""
    built = constructions(model, expr)
    if not built:
        return None
    states = set()
    for value in built:
        call = value if isinstance(value, ast.Call) else None
        if model.qualified_name(call.func if call is not None else value) not in SCALER_CLASSES:
            return None
        states.add("disabled" if call is not None and is_false(keyword(call, "enabled")) else "enabled")
    return "enabled" if "enabled" in states else "disabled"


def scaled_by(statement: ast.stmt, model: SemanticModel) -> ast.expr | None:
    """For `X.scale(loss).backward()` (or `scaled = X.scale(loss)` then `scaled.backward()`): X."""
    for node in own_nodes(statement):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "backward"):
            continue
        receiver = node.func.value
        if isinstance(receiver, ast.Name):
            built = constructions(model, receiver)
            receiver = built[0] if built and len(built) == 1 else receiver
        if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute) and receiver.func.attr == "scale":
            return receiver.func.value
    return None


def scaler_method(statement: ast.stmt, name: str) -> tuple[ast.expr, ast.expr] | None:
    """(X, optimizer) for a statement that is `X.<name>(optimizer)` (`scaler.step(opt)`, `scaler.unscale_(opt)`)."""
    call = single_call(statement)
    if (call is None or not isinstance(call.func, ast.Attribute) or call.func.attr != name or len(call.args) != 1
            or call.keywords or isinstance(call.args[0], ast.Starred)):
        return None
    return call.func.value, call.args[0]


def is_scaler(model: SemanticModel, expr: ast.AST, block: list[ast.stmt]) -> str | None:
    """`scaler_built`, or, where the file does not show what `expr` is, "enabled" on the call shapes of a
    GradScaler in `block`: its `scale(...)` result is backward()ed and it steps or unscales an optimizer."""
    built = scaler_built(model, expr)
    if built is not None:
        return built
    name = dotted(expr)
    if name is None:
        return None
    scaled = any(dotted(scaled_by(s, model)) == name for s in block if scaled_by(s, model) is not None)
    handles = any(
        (found := scaler_method(s, method)) is not None and dotted(found[0]) == name
        for s in block for method in ("step", "unscale_")
    )
    return "enabled" if scaled and handles else None
