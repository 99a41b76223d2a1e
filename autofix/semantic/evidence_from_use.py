"""Evidence from use: what the code does with a name is evidence of what it holds.

Where a name's definition is out of sight (a function parameter no call site explains, an unknown call's
result, a name a fragment never binds), the methods called on it still say what it must be, or the program
fails right there:

- `.zero_grad()` together with `.step()` (or `.step()` with `.param_groups`): an optimizer. Either alone is
  not enough: a module has `zero_grad()` too, and a scheduler or an environment has `step()`.
- `.parameters()`, `.named_parameters()`, `.modules()`, `.children()`, `.apply(fn)`, `.register_buffer(...)`:
  a module. `.train()`, `.eval()`, `.zero_grad()` and a call on a batch (`model(x)` with `x` a loop variable)
  count only two together: a trainer object may have a `train()` of its own, and a transform is called on a
  batch too.
- `.backward()`: a tensor (a loss). Whether it requires grad is not said: that is what the GF2xx rules check.
- `for x, y in loader:` over an iterable the definitions do not explain, where the body calls a module on one
  of the loop variables (`model(x)`): the loop variables are a batch, plain data (of any kind: tensors, a
  dict of tensors). What a loader yields never required grad.

The facts are gathered in one pass over the file's calls, per defining scope and name (flow-insensitive:
a name rarely changes role within a function), and only ever refine a value the definitions leave unknown
(`refine`): a definition always wins. What needs the flow of values, a callable given a model's output and a
target whose result is backpropagated (a loss function), is judged where the flow is known
(codemods/_lossflow.py) from the same principle.
"""
from __future__ import annotations

import ast

from autofix.semantic.lattice import Grad, Kind, Value

OPTIMIZER_BY_USE = Value(Kind.OPTIMIZER, Grad.DATA, origin="use")
MODULE_BY_USE = Value(Kind.MODULE, Grad.DATA, origin="use")
LOSS_BY_USE = Value(Kind.TENSOR, Grad.UNKNOWN, origin="use")
BATCH_BY_USE = Value(Kind.UNKNOWN, Grad.DATA, origin="batch")  # what a data loader yields: plain data, any shape

# Methods that only an nn.Module has (among the values a training script handles).
_MODULE_METHODS = frozenset({
    "parameters", "named_parameters", "modules", "named_modules", "children", "named_children", "apply",
    "register_buffer", "register_parameter", "add_module", "register_forward_hook", "register_forward_pre_hook",
})
_MODE_METHODS = frozenset({"train", "eval"})
_TRACKED = _MODULE_METHODS | _MODE_METHODS | {"zero_grad", "step", "backward", "add_param_group"}
_TRACKED_ATTRIBUTES = frozenset({"param_groups"})
_MOVES = frozenset({"to", "cuda", "float", "long", "cpu"})


class UseEvidence:
    """The methods each name of one file is used with, and what that makes it. Built once per model, lazily.

    It keeps no reference to the model (each method is given it): a model that referred to itself through this
    table would be a reference cycle, freed only by the cyclic GC, and trees would pile up in a long run."""

    def __init__(self):
        self._uses: dict[tuple[int, str], set[str]] | None = None
        self._batches: dict[int, bool] = {}  # for statement -> its targets are a batch

    def loop_variable(self, scopes, binding, value_of) -> Value | None:
        """What a loop variable holds when the iterable is unknown: a batch, when the loop unpacks what it
        iterates (`for x, y in loader`) and feeds one of the parts to a module (`value_of` gives a value)."""
        statement = binding.node
        if binding.kind != "for" or not binding.path or not isinstance(statement, (ast.For, ast.AsyncFor)):
            return None
        known = self._batches.get(id(statement))
        if known is None:
            targets = {n.id for n in ast.walk(statement.target) if isinstance(n, ast.Name)}
            known = False
            for node in (n for s in statement.body for n in ast.walk(s)):
                if isinstance(node, ast.Call) and node.args and _root_name(node.args[0]) in targets \
                        and value_of(node.func).kind is Kind.MODULE:
                    known = True
                    break
            self._batches[id(statement)] = known
        return BATCH_BY_USE if known else None

    def role(self, scopes, name: ast.Name) -> Value | None:
        """What the uses of `name` (in the scope that defines it) make it: an optimizer, a module, a loss tensor;
        None when they say nothing."""
        uses = self._all_uses(scopes).get(_key(scopes, name))
        if not uses:
            return None
        if "step" in uses and ("zero_grad" in uses or "param_groups" in uses or "add_param_group" in uses):
            return OPTIMIZER_BY_USE
        if uses & _MODULE_METHODS or len(uses & (_MODE_METHODS | {"zero_grad", "called on a batch"})) >= 2:
            return MODULE_BY_USE
        if "backward" in uses and not uses & (_MODE_METHODS | {"step", "zero_grad"}):
            return LOSS_BY_USE
        return None

    def _all_uses(self, scopes) -> dict[tuple[int, str], set[str]]:
        if self._uses is None:
            uses: dict[tuple[int, str], set[str]] = {}
            for attribute in scopes.nodes(ast.Attribute):
                owner = attribute.value
                if not isinstance(owner, ast.Name):
                    continue
                method = attribute.attr
                if method in _TRACKED_ATTRIBUTES or (
                    method in _TRACKED and isinstance(scopes.parent(attribute), ast.Call)
                    and scopes.parent(attribute).func is attribute
                ):
                    uses.setdefault(_key(scopes, owner), set()).add(method)
            # A call on a batch only counts next to a mode switch or zero_grad(): look for one only there.
            wanted = {key[1] for key, methods in uses.items() if methods & (_MODE_METHODS | {"zero_grad"})}
            if wanted:
                for call in scopes.nodes(ast.Call):
                    func = call.func
                    if isinstance(func, ast.Name) and func.id in wanted and call.args and _is_batch(scopes, call.args[0]):
                        key = _key(scopes, func)
                        if key in uses:
                            uses[key].add("called on a batch")
            self._uses = uses
        return self._uses


def _root_name(expr: ast.AST) -> str | None:
    """`x`, `batch[0]`, `x.to(device)`, `batch.x` -> the name they start from."""
    while True:
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in _MOVES:
            expr = expr.func.value
        elif isinstance(expr, (ast.Subscript, ast.Attribute)):
            expr = expr.value
        else:
            break
    return expr.id if isinstance(expr, ast.Name) else None


def _is_batch(scopes, expr: ast.AST) -> bool:
    """`x`, `batch[0]`, `x.to(device)`, `batch.x` where the name is a loop variable: the data a loop iterates."""
    while True:
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in _MOVES:
            expr = expr.func.value
        elif isinstance(expr, (ast.Subscript, ast.Attribute)):
            expr = expr.value
        else:
            break
    if not isinstance(expr, ast.Name):
        return False
    bindings = scopes.bindings_reaching(expr.id, expr)
    return bool(bindings) and all(b.kind == "for" for b in bindings)


def _key(scopes, name: ast.Name) -> tuple[int, str]:
    """The scope that binds `name` where it is used (0: bound nowhere on the way out, a fragment's global)."""
    scope = scopes.scope(name)
    while scope is not None:
        if not scope.is_class and name.id in scope.bindings:
            return id(scope.node), name.id
        scope = scope.parent
    return 0, name.id


def refine(defined: Value, used: Value | None) -> Value:
    """A definition's value, completed by evidence from use where the definition says nothing. Never overrides:
    a known kind stays, whatever the uses say (a conflict means the uses are not what they seem)."""
    if used is None or defined.kind is not Kind.UNKNOWN:
        return defined
    if defined.grad is not Grad.UNKNOWN and used.kind is Kind.TENSOR:
        return Value(used.kind, defined.grad, origin=used.origin)
    return used


__all__ = ["BATCH_BY_USE", "LOSS_BY_USE", "MODULE_BY_USE", "OPTIMIZER_BY_USE", "UseEvidence", "refine"]
