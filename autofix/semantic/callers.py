"""The reverse call index: where the project's other files call a function, and with what.

`callsites.py` answers "who calls this function?" within one file. A function defined in `models.py` and used as
`model.apply(init)` in `train.py` has its callers in another file; so does a helper of `inits.py` that the
layers of twenty files call with their own weights. `references` summarises, for one file, every reference it
makes to a function of another module (through its imports), structurally, as the project index summarises
classes: each call's arguments as small specs that the index resolves later (`{"new": "pkg.Net"}`, an instance;
`{"self": "pkg.mod.Block", "path": ["lin1", "weight"]}`, an attribute chain of a method's `self`), and each
callback registration (`module.apply(f)`) with its receiver. The index asks only the files whose text names the
function (a type checker's find-references: a text search first, then resolution), and only when a rule asks
what one of the function's parameters holds.

Soundness: a reference that is not a plain call or a known callback (the function passed on, stored, named in a
string that `getattr` may look up, a name that the file also binds to something else, or reachable through a
star import) makes the function's parameters unknown, as in `callsites.py`.
"""
from __future__ import annotations

import ast

from autofix.semantic.scopes import absolute_module
from autofix.semantic.syntax import dotted

# Methods that call the function they are given with values the framework decides (callsites.CALLBACKS).
CALLBACK_METHODS = frozenset({"apply", "register_forward_hook", "register_forward_pre_hook",
                              "register_full_backward_hook", "register_backward_hook",
                              "register_full_backward_pre_hook", "register_hook"})
# Methods that return their receiver (moved or switched): `Net().to(device)` is still a Net.
_RETURNS_RECEIVER = frozenset({"to", "cuda", "cpu", "double", "float", "half", "bfloat16", "train", "eval"})
_MAX_DEPTH = 6


def references(tree: ast.Module, module: str, is_package: bool) -> dict:
    """{"sites": {qualified function: [site, ...]}, "stars": bool, "names": [...]}: what this file passes to the
    functions of other modules it imports. A site is {"how": "call", "args": [spec], "keywords": {name: spec}},
    {"how": "callback", "method": m, "receiver": spec}, or {"how": "other"} (may be called with anything)."""
    imports: dict[str, str] = {}
    other_bindings: set[str] = set()
    stars = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                imports[bound] = alias.name if alias.asname else bound
        elif isinstance(node, ast.ImportFrom):
            origin = absolute_module(node, module, is_package)
            for alias in node.names:
                if alias.name == "*":
                    stars = True
                elif origin:
                    imports[alias.asname or alias.name] = f"{origin}.{alias.name}"
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            other_bindings.add(node.name)
        elif isinstance(node, ast.arg):
            other_bindings.add(node.arg)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            other_bindings.add(node.id)
    context = _Context(tree, module, imports, other_bindings)
    sites: dict[str, list[dict]] = {}
    strings: set[str] = set()
    consumed: set[int] = set()
    for node, owner in context.nodes:
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
            strings.add(node.value)
        if not isinstance(node, ast.Call):
            continue
        target = context.qualified(node.func)
        if target is not None:
            consumed.add(id(node.func))
            if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
                sites.setdefault(target, []).append({"how": "other"})
            else:
                sites.setdefault(target, []).append({
                    "how": "call", "args": [context.spec(a, owner) for a in node.args],
                    "keywords": {k.arg: context.spec(k.value, owner) for k in node.keywords}})
        if isinstance(node.func, ast.Attribute) and node.func.attr in CALLBACK_METHODS and len(node.args) == 1 \
                and not node.keywords:
            callback = context.qualified(node.args[0])
            if callback is not None:
                consumed.add(id(node.args[0]))
                sites.setdefault(callback, []).append(
                    {"how": "callback", "method": node.func.attr, "receiver": context.spec(node.func.value, owner)})
    for node, _ in context.nodes:
        if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load) and id(node) not in consumed:
            target = context.qualified(node)
            if target is not None and not isinstance(context.parent.get(id(node)), ast.Attribute):
                sites.setdefault(target, []).append({"how": "other"})
    free = sorted({n.id for n, _ in context.nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                   and n.id not in imports and n.id not in other_bindings})
    # `getattr(module, name)` / `globals()[name]` with a name not written in the call may look a function up by
    # a string: the identifiers the file spells in strings may then be called with anything.
    dynamic = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and
                  (n.func.id in ("globals", "vars") or n.func.id == "getattr" and len(n.args) >= 2
                   and not isinstance(n.args[1], ast.Constant)) for n, _ in context.nodes) or any(
        isinstance(n, ast.Attribute) and n.attr == "__dict__" for n, _ in context.nodes)
    return {"sites": sites, "stars": stars, "free": free, "strings": sorted(strings) if dynamic else []}


class _Iterated:
    """A loop variable: it takes each element of `iterable` in turn."""

    def __init__(self, iterable: ast.AST):
        self.iterable = iterable


class _Context:
    """Names resolved through the file's imports, and argument expressions as specs."""

    def __init__(self, tree: ast.Module, module: str, imports: dict[str, str], other_bindings: set[str]):
        self.module = module
        self.imports = imports
        self.ambiguous = set(imports) & other_bindings  # `f` imported and also bound to something else
        self.parent: dict[int, ast.AST] = {}
        self.nodes: list[tuple[ast.AST, ast.AST | None]] = []  # (node, the function it is in)
        self.classes = {c.name for c in tree.body if isinstance(c, ast.ClassDef)}
        self.functions = {f.name for f in tree.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
        self._method_class: dict[int, str] = {}
        self._assigned: dict[int, dict[str, list[ast.AST | None]]] = {}
        stack: list[tuple[ast.AST, ast.AST | None]] = [(tree, None)]
        while stack:
            node, owner = stack.pop()
            self.nodes.append((node, owner))
            inner = node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) else owner
            for child in ast.iter_child_nodes(node):
                self.parent[id(child)] = node
                stack.append((child, inner))
        for cls in tree.body:
            if isinstance(cls, ast.ClassDef):
                for method in cls.body:
                    if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self._method_class[id(method)] = f"{module}.{cls.name}"
        for node, owner in self.nodes:
            key = id(owner) if owner is not None else 0
            names = self._assigned.setdefault(key, {})
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        names.setdefault(target.id, []).append(node.value)
                    else:
                        for inner in ast.walk(target):
                            if isinstance(inner, ast.Name):
                                names.setdefault(inner.id, []).append(None)
            elif isinstance(node, (ast.For, ast.AsyncFor)) and isinstance(node.target, ast.Name):
                names.setdefault(node.target.id, []).append(_Iterated(node.iter))  # `for lin in self.lins:`
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.NamedExpr, ast.comprehension)):
                for inner in ast.walk(node.target):
                    if isinstance(inner, ast.Name):
                        names.setdefault(inner.id, []).append(None)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    for inner in ast.walk(item.optional_vars) if item.optional_vars is not None else ():
                        if isinstance(inner, ast.Name):
                            names.setdefault(inner.id, []).append(None)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                arguments = node.args
                inner_names = self._assigned.setdefault(id(node), {})
                for arg in arguments.posonlyargs + arguments.args + arguments.kwonlyargs + \
                        [a for a in (arguments.vararg, arguments.kwarg) if a is not None]:
                    inner_names.setdefault(arg.arg, []).append(None)

    def qualified(self, expr: ast.AST) -> str | None:
        """The qualified name of another module's function that `expr` names through the file's imports."""
        name = dotted(expr)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head not in self.imports or head in self.ambiguous:
            return None
        return self.imports[head] + ("." + rest if rest else "")

    def spec(self, expr: ast.AST, owner: ast.AST | None, depth: int = 0) -> dict | None:
        """What `expr` holds, as far as structure says: an instance of a class, or an attribute chain of `self`."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Attribute) and func.attr in _RETURNS_RECEIVER:
                return self.spec(func.value, owner, depth + 1)  # `Net().to(device)`
            made = self.qualified(func)
            if made is None and isinstance(func, ast.Name) and func.id in self.classes:
                made = f"{self.module}.{func.id}"
            return {"new": made} if made else None
        if isinstance(expr, ast.Attribute):
            path = []
            base: ast.AST = expr
            while isinstance(base, ast.Attribute):
                path.insert(0, base.attr)
                base = base.value
            if isinstance(base, ast.Name) and owner is not None and self._is_self(base, owner):
                return {"self": self._method_class[id(owner)], "path": path}
            inner = self.spec(base, owner, depth + 1)
            return {"of": inner, "path": path} if inner is not None else None
        if isinstance(expr, ast.Name):
            for scope in (owner, None) if owner is not None else (None,):
                assigned = self._assigned.get(id(scope) if scope is not None else 0, {}).get(expr.id)
                if assigned is not None:
                    if len(assigned) != 1 or assigned[0] is None:
                        return None
                    if isinstance(assigned[0], _Iterated):
                        iterated = self.spec(assigned[0].iterable, scope, depth + 1)
                        return {"iter": iterated} if iterated is not None else None
                    return self.spec(assigned[0], scope, depth + 1)
            return None
        if isinstance(expr, ast.Constant):
            return {"constant": expr.value is None}  # plain data (None or not)
        return None

    def _is_self(self, name: ast.Name, owner: ast.AST) -> bool:
        """`name` is the first parameter of a method of a top-level class, never rebound there."""
        if id(owner) not in self._method_class or not isinstance(owner, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        arguments = owner.args.posonlyargs + owner.args.args
        if not arguments or arguments[0].arg != name.id or any(
                isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod") for d in owner.decorator_list):
            return False
        return self._assigned.get(id(owner), {}).get(name.id) == [None]
