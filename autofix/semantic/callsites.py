"""Values from call sites: what a function's parameters hold, as the join of what every call in the file passes.

Pyright and ty infer an unannotated parameter from its call sites; so does this, within one file:

- direct calls `f(model)` and method calls `self.f(x)` / `obj.f(x)` on an instance of the file's class;
- callbacks that a framework calls, as data (`CALLBACKS`): `module.apply(f)` calls `f` with each submodule,
  `register_forward_hook(f)` with `(module, inputs, output)`, `tensor.register_hook(f)` with the gradient;
- `map(f, xs)` calls `f` with each element of `xs`;
- methods a framework's base class calls (`FRAMEWORK_METHODS`): transformers' `PreTrainedModel` calls
  `_init_weights(module)` with every submodule.

Soundness: a function that is referenced anywhere else (passed to an unknown call, stored, returned, decorated
into something else) may be called with anything, so its parameters stay unknown. A call whose arguments cannot
be matched to parameters (`*args`, `**kwargs`) makes them unknown too. The model evaluates call-site arguments
lazily, memoised, with its recursion guard: a cycle (a recursive function) gives unknown, never a guess, so the
evaluation is a bounded fixpoint of the join over call sites.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from autofix.semantic.lattice import A_MODULE, PLAIN_TENSOR, Grad, Kind, Value, container
from autofix.semantic.scopes import FUNCTIONS

_ANY_TENSOR = Value(Kind.TENSOR, Grad.UNKNOWN)

# receiver kind, method name -> the values the framework passes to the callback, in order (torch.nn.Module and
# torch.Tensor docs, torch 2.13).
CALLBACKS: dict[tuple[Kind, str], tuple[Value, ...]] = {
    (Kind.MODULE, "apply"): (A_MODULE,),
    (Kind.MODULE, "register_forward_hook"): (A_MODULE, container(_ANY_TENSOR), _ANY_TENSOR),
    (Kind.MODULE, "register_forward_pre_hook"): (A_MODULE, container(_ANY_TENSOR)),
    (Kind.MODULE, "register_full_backward_hook"): (A_MODULE, container(PLAIN_TENSOR), container(PLAIN_TENSOR)),
    (Kind.MODULE, "register_backward_hook"): (A_MODULE, container(PLAIN_TENSOR), container(PLAIN_TENSOR)),
    (Kind.MODULE, "register_full_backward_pre_hook"): (A_MODULE, container(PLAIN_TENSOR)),
    (Kind.TENSOR, "register_hook"): (PLAIN_TENSOR,),
    (Kind.PARAMETER, "register_hook"): (PLAIN_TENSOR,),
}

# (base classes, method name) -> what the base class passes to the method, after `self`.
FRAMEWORK_METHODS: tuple[tuple[frozenset[str], str, tuple[Value, ...]], ...] = (
    (frozenset({"transformers.PreTrainedModel", "transformers.modeling_utils.PreTrainedModel"}), "_init_weights",
     (A_MODULE,)),
)


@dataclass(frozen=True)
class Site:
    """One place that calls a function: the argument expressions it passes, or the values a framework passes."""

    call: ast.Call | None
    offset: int = 0  # parameters the call does not pass (`self` of a method called through an instance)
    given: tuple[Value, ...] | None = None  # a callback or framework method: the values, not expressions
    element_of: ast.AST | None = None  # `map(f, xs)`: each element of xs
    keywords: tuple[tuple[str, Value], ...] = ()  # with `given`: values passed by keyword (another file's call)


class CallSites:
    """Every call site of every function of one file.

    One pass over the calls and names records what is syntactically a call of a function of this file (by
    name); which function a call reaches, and what a callback's receiver is, is resolved on the first question
    about that function, so that collecting never asks the model for a value (which could ask for call sites)."""

    def __init__(self, model):
        self.model = model
        self._by_name: dict[str, list[tuple[str, ast.AST]]] = {}  # def name -> (how, node) references
        self._resolved: dict[int, list[Site] | None] = {}
        self._undecorated: set[int] = set()
        self._collect()

    def of(self, function: ast.AST) -> list[Site] | None:
        """The sites of `function`, or None when it may be called from somewhere not known."""
        key = id(function)
        if key not in self._resolved:
            self._resolved[key] = None  # recursion guard: asked again while resolving, it is unknown
            self._resolved[key] = self._resolve(function)
        return self._resolved[key]

    def _collect(self) -> None:
        model = self.model
        defined = {f.name for f in model.nodes(*FUNCTIONS)}
        by_name = self._by_name
        consumed: set[int] = set()
        for call in model.nodes(ast.Call):
            func = call.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name in defined:
                by_name.setdefault(name, []).append(("call", call))
                consumed.add(id(func))
            if call.args and _names_a_def(call.args[0], defined):
                callback = _def_name(call.args[0])
                if isinstance(func, ast.Attribute) and any(method == func.attr for _, method in CALLBACKS):
                    by_name.setdefault(callback, []).append(("callback", call))
                    consumed.add(id(call.args[0]))
                elif isinstance(func, ast.Name) and func.id == "map" and len(call.args) == 2:
                    by_name.setdefault(callback, []).append(("map", call))
                    consumed.add(id(call.args[0]))
        for node in model.nodes(ast.Name):
            if node.id in defined and id(node) not in consumed and isinstance(node.ctx, ast.Load):
                by_name.setdefault(node.id, []).append(("other", node))
        for node in model.nodes(ast.Attribute):
            if node.attr in defined and id(node) not in consumed and isinstance(node.ctx, ast.Load):
                by_name.setdefault(node.attr, []).append(("other", node))

    def _resolve(self, function: ast.AST) -> list[Site] | None:
        model = self.model
        if any(not _is_known_decorator(d) for d in function.decorator_list):
            return None  # wrapped into something else: its callers are not its callers
        framework = list(self._framework_sites(function))
        if not framework and self._called_implicitly(function):
            return None
        sites: list[Site] = framework
        for how, node in self._by_name.get(function.name, ()):
            if how == "call":
                target = model.callee(node)
                if target is function:
                    sites.append(Site(node, offset=self._offset(node.func, target)))
                elif target is None and not _is_other_binding(model, node.func):
                    return None  # `obj.name(...)` on something not known could be this function
            elif how == "callback":
                argument = node.args[0]
                if model.local_function(argument) is not function:
                    continue
                receiver = model.value(node.func.value)
                given = CALLBACKS.get((receiver.kind, node.func.attr))
                if given is None:
                    return None  # handed to something that is not known to call it with known values
                sites.append(Site(None, offset=self._offset(argument, function), given=given))
            elif how == "map":
                if model.local_function(node.args[0]) is not function:
                    continue
                if model.bindings_reaching("map", node.func) is not None:
                    return None  # not the builtin
                sites.append(Site(None, offset=self._offset(node.args[0], function), element_of=node.args[1]))
            elif model.local_function(node) is function or isinstance(node, ast.Attribute) and \
                    model.local_function(node) is None and not _is_other_binding(model, node):
                return None  # passed, stored or returned: it may be called with anything
        if model.project is not None and model.module and isinstance(model.parent(function), ast.Module):
            # The project's other files that import the function are its call sites too (callers.py).
            elsewhere = model.project.callers(f"{model.module}.{function.name}", model.path)
            if elsewhere is None:
                return None
            sites.extend(Site(None, given=given, keywords=tuple(keywords.items())) for given, keywords in elsewhere)
        return sites

    def _called_implicitly(self, function: ast.AST) -> bool:
        """A method that Python or a base class outside this file may call: `forward` (nn.Module.__call__), a
        dunder, or any method of a class whose bases are not all nn.Module or classes of this file."""
        cls = self.model.enclosing_class(function)
        if cls is None:
            return False
        if function.name == "forward" or function.name.startswith("__") and function.name.endswith("__"):
            return True
        return not self.model.bases_are_known(cls)

    def _framework_sites(self, function: ast.AST):
        cls = self.model.enclosing_class(function)
        if cls is None:
            return
        for bases, name, given in FRAMEWORK_METHODS:
            if function.name == name and self.model.class_extends(cls, bases):
                yield Site(None, offset=1, given=given)

    def _offset(self, func: ast.AST, target: ast.AST | None) -> int:
        """1 when `target` is a method reached through an instance (`self.f`, `obj.f`): `self` is not passed."""
        if target is None or not isinstance(func, ast.Attribute):
            return 0
        return 0 if self.model.is_static_method(target) else 1


def _def_name(expr: ast.AST) -> str:
    return expr.id if isinstance(expr, ast.Name) else expr.attr


def _is_other_binding(model, func: ast.AST) -> bool:
    """`func` names something that is certainly not a function of this file: a module's attribute (`np.sum`), an
    attribute of a known tensor/module/container, or a name bound to something else."""
    if isinstance(func, ast.Name):
        bindings = model.bindings_reaching(func.id, func)
        return bindings is None or all(b.kind not in ("def",) for b in bindings)
    if isinstance(func, ast.Attribute):
        if model.qualified_name(func) is not None:
            return True
        owner = model.value(func.value)
        return owner.kind is not Kind.UNKNOWN and not (owner.cls or "").startswith("<local>.")
    return True


def _names_a_def(expr: ast.AST, defined: set[str]) -> bool:
    return isinstance(expr, ast.Name) and expr.id in defined or isinstance(expr, ast.Attribute) and expr.attr in defined


def _is_known_decorator(decorator: ast.AST) -> bool:
    """Decorators that keep the function callable with the same arguments."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else ""
    return name in ("staticmethod", "no_grad", "enable_grad", "inference_mode", "wraps", "lru_cache", "cache")
