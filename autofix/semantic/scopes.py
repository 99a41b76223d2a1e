"""Scopes and bindings: one walk of the tree records parents, scopes, bindings in source order, imports, the
attributes each class assigns to `self`, and an index of nodes by type. Names resolve to qualified names here;
what a name *holds* is inference's job (autofix/semantic/inference.py).
"""
from __future__ import annotations

import ast
from operator import attrgetter
from dataclasses import dataclass
from typing import Iterator

from autofix.semantic.fragments import conventional_import
from autofix.semantic.syntax import _end, _field_of, _is_static, _start, dotted

_POSITION = attrgetter("lineno", "col_offset")
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_SCOPE_TYPES = frozenset(_SCOPES)
_CONTEXTS = frozenset({ast.Load, ast.Store, ast.Del})
_BINDING_STATEMENTS = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.With, ast.AsyncWith,
                       ast.NamedExpr, ast.comprehension, ast.ExceptHandler)


@dataclass(eq=False)
class Binding:
    name: str
    kind: str  # assign, aug, ann, for, with, param, import, def, class, except, walrus, comp, other
    node: ast.AST  # the statement (or comprehension/argument) that binds
    value: ast.AST | None = None  # the expression bound (for assign/ann/walrus), the iterable (for), ...
    path: tuple[int, ...] = ()  # where in a tuple target the name sits (`a, (b, c) = ...` -> b is (1, 0))
    position: tuple[int, int] = (0, 0)  # where the binding takes effect


@dataclass(eq=False)
class Scope:
    node: ast.AST  # Module, FunctionDef, AsyncFunctionDef, Lambda, ClassDef
    parent: "Scope | None"
    bindings: dict[str, list[Binding]]
    imports: dict[str, str]

    @property
    def is_function(self) -> bool:
        return isinstance(self.node, (*FUNCTIONS, ast.Lambda))

    @property
    def is_class(self) -> bool:
        return isinstance(self.node, ast.ClassDef)


@dataclass(frozen=True)
class Range:
    """1-based lines, 0-based character columns (as LibCST's CodeRange): where a finding is."""

    line: int
    column: int
    end_line: int
    end_column: int


class Scopes:
    """The structure of one file: parents, scopes, bindings, imports, positions. `SemanticModel` builds on it."""

    def __init__(self, tree: ast.Module, text: str, path: str = "<stdin>", module: str | None = None,
                 is_package: bool = False):
        self.tree = tree
        self.text = text
        self.path = path
        self.module = module  # the file's dotted module name, where known: relative imports resolve against it
        self.is_package = is_package
        self._lines: list[str] | None = None
        self._by_type: dict[type, list[ast.AST]] = {}
        self._scope_of: dict[int, Scope] = {}  # id(scope-defining node) -> Scope
        self.module_scope = Scope(tree, None, {}, {})
        self._scope_of[id(tree)] = self.module_scope
        self._class_attributes: dict[int, dict[str, list[tuple[ast.AST, ast.AST]]]] = {}
        self._methods_by_name: dict[str, list[ast.AST]] = {}
        self._keep_alive: list[ast.AST] = []
        self.star_import = False  # `from m import *`: the file may bind any name
        self._all_bound: frozenset[str] | None = None
        self._calls_by_name: dict[str, list[ast.Call]] | None = None
        # What rule helpers derive from the whole file (its backward calls, say), kept so that asking once per
        # function does not redo a whole-file scan each time: keyed by the helper's name.
        self.derived: dict[str, object] = {}
        self._walk()

    # --- the one walk ---------------------------------------------------------------------------
    def _walk(self) -> None:
        """Parents and the index by type in one tight loop; scopes and bindings from the binding nodes after.

        This loop is the model's whole fixed cost (it touches every node), so it does nothing else.
        """
        by_type = self._by_type
        # Parents live in a dict owned by the model, not on the nodes: parent attributes would make every tree
        # a reference cycle that only the cyclic GC frees, so trees would pile up in a long run.
        parents = self._parents = {}
        stack: list[ast.AST] = [self.tree]
        pop, push = stack.pop, stack.append
        AST, context_types = ast.AST, _CONTEXTS
        while stack:
            node = pop()
            kind = node.__class__
            found = by_type.get(kind)
            if found is None:
                by_type[kind] = [node]
            else:
                found.append(node)
            for name in node._fields:
                value = getattr(node, name, None)
                if value.__class__ is list:
                    for child in reversed(value):
                        if isinstance(child, AST) and child.__class__ not in context_types:
                            parents[id(child)] = node
                            push(child)
                elif isinstance(value, AST) and value.__class__ not in context_types:
                    parents[id(value)] = node
                    push(value)
        # Pushing children in reverse per field pops them in source order within a field, but fields pop in
        # reverse: restore source order for the lists rules iterate.
        for kind, nodes in by_type.items():
            # By (lineno, col_offset), as _start gives it, with a key made in C; a type without positions keeps
            # the walk's order (all its keys would be equal).
            if len(nodes) > 1 and "lineno" in kind._attributes:
                nodes.sort(key=_POSITION)
        for kind in _SCOPES:
            for node in by_type.get(kind, ()):
                self._opened(node)
        for kind in (ast.Import, ast.ImportFrom):
            for node in by_type.get(kind, ()):
                self._bind_import(node, self.scope(node))
        for kind in _BINDING_STATEMENTS:
            for node in by_type.get(kind, ()):
                self._bind_statement(node, self.scope(node))
        for bindings in (s.bindings for s in self._scope_of.values()):
            for found in bindings.values():
                found.sort(key=lambda b: b.position)

    def _add(self, scope: Scope, binding: Binding) -> None:
        scope.bindings.setdefault(binding.name, []).append(binding)

    def _bind_definition(self, node, outer: Scope, inner: Scope) -> None:
        if isinstance(node, ast.ClassDef):
            self._add(outer, Binding(node.name, "class", node, node, position=_start(node)))
            return
        if isinstance(node, FUNCTIONS):
            self._add(outer, Binding(node.name, "def", node, node, position=_start(node)))
            if isinstance(outer.node, ast.ClassDef):
                self._methods_by_name.setdefault(node.name, []).append(node)
        args = node.args
        everything = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        if args.vararg:
            everything.append(args.vararg)
        if args.kwarg:
            everything.append(args.kwarg)
        for arg in everything:
            self._add(inner, Binding(arg.arg, "param", arg, arg, position=(0, 0)))

    def _bind_import(self, node, scope: Scope) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    scope.imports[alias.asname] = alias.name
                    self._add(scope, Binding(alias.asname, "import", node, position=_end(node)))
                else:
                    head = alias.name.split(".")[0]
                    scope.imports[head] = head
                    self._add(scope, Binding(head, "import", node, position=_end(node)))
            return
        origin = self._absolute(node)
        if origin is None:
            return  # a relative import in a file whose module is not known
        for alias in node.names:
            if alias.name == "*":
                self.star_import = True
                continue
            bound = alias.asname or alias.name
            scope.imports[bound] = f"{origin}.{alias.name}"
            self._add(scope, Binding(bound, "import", node, position=_end(node)))

    def _absolute(self, node: ast.ImportFrom) -> str | None:
        return absolute_module(node, self.module, self.is_package)

    def _bind_statement(self, node, scope: Scope) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self._bind_target(target, "assign", node, node.value, scope, _end(node))
        elif isinstance(node, ast.AnnAssign):
            self._bind_target(node.target, "ann", node, node.value, scope, _end(node))
        elif isinstance(node, ast.AugAssign):
            self._bind_target(node.target, "aug", node, node, scope, _end(node))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self._bind_target(node.target, "for", node, node.iter, scope, _end(node.iter))
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    self._bind_target(item.optional_vars, "with", node, item.context_expr, scope, _end(item.context_expr))
        elif isinstance(node, ast.NamedExpr):
            # The walrus binds in the enclosing function even from inside a comprehension.
            target_scope = scope
            self._bind_target(node.target, "walrus", node, node.value, target_scope, _end(node))
        elif isinstance(node, ast.comprehension):
            # Comprehension variables are local to the comprehension; they are looked up by position.
            self._bind_target(node.target, "comp", node, node.iter, scope, _end(node.iter))
        elif isinstance(node, ast.ExceptHandler) and node.name:
            self._add(scope, Binding(node.name, "except", node, None, position=_start(node)))

    def _bind_target(self, target, kind, node, value, scope: Scope, position, path=()) -> None:
        if isinstance(target, ast.Name):
            self._add(scope, Binding(target.id, kind, node, value, path, position))
        elif isinstance(target, (ast.Tuple, ast.List)):
            for index, element in enumerate(target.elts):
                if isinstance(element, ast.Starred):
                    self._bind_target(element.value, "other", node, None, scope, position)
                else:
                    self._bind_target(element, kind, node, value, scope, position, (*path, index))
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value, "other", node, None, scope, position)
        elif (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and kind in ("assign", "ann")
            and not path
        ):
            self._record_self_attribute(target, value, scope)

    def _record_self_attribute(self, target: ast.Attribute, value, scope: Scope) -> None:
        """`self.x = value` in a method: remember it as an attribute of the class."""
        function = scope.node
        if not isinstance(function, FUNCTIONS) or scope.parent is None or not scope.parent.is_class:
            return
        args = function.args.posonlyargs + function.args.args
        if not args or target.value.id != args[0].arg or _is_static(function):
            return
        attributes = self._class_attributes.setdefault(id(scope.parent.node), {})
        attributes.setdefault(target.attr, []).append((value, function))

    # --- structure queries -------------------------------------------------------------------------
    def nodes(self, *types: type) -> list[ast.AST]:
        """Every node of the given types, in source order."""
        if len(types) == 1:
            return self._by_type.get(types[0], [])
        found = [n for t in types for n in self._by_type.get(t, [])]
        found.sort(key=_start)
        return found

    def calls_named(self, name: str) -> list[ast.Call]:
        """`NAME(...)` and `x.NAME(...)` calls, in source order: an index built once, so that asking about every
        function's call sites costs the number of calls, not functions times calls."""
        if self._calls_by_name is None:
            index: dict[str, list[ast.Call]] = {}
            self._call_order = {}
            for order, call in enumerate(self._by_type.get(ast.Call, ())):
                self._call_order[id(call)] = order
                func = call.func
                if func.__class__ is ast.Attribute:
                    index.setdefault(func.attr, []).append(call)
                elif func.__class__ is ast.Name:
                    index.setdefault(func.id, []).append(call)
            self._calls_by_name = index
        return self._calls_by_name.get(name, [])

    def classes_named(self, name: str) -> list[ast.ClassDef]:
        """The file's classes (at any depth) called `name`, in source order (an index built once)."""
        index = self.derived.get("classes_by_name")
        if index is None:
            index = self.derived["classes_by_name"] = {}
            for cls in self._by_type.get(ast.ClassDef, ()):
                index.setdefault(cls.name, []).append(cls)
        return index.get(name, [])

    def calls_to_method(self, *names: str) -> Iterator[ast.Call]:
        """`x.NAME(...)` calls, for any of the method names, in source order."""
        found = [c for name in dict.fromkeys(names) for c in self.calls_named(name) if isinstance(c.func, ast.Attribute)]
        if len(names) > 1:
            self.calls_named("")  # the index, and the calls' order in the file
            found.sort(key=lambda call: self._call_order[id(call)])
        yield from found

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self._parents.get(id(node))

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        current = self.parent(node)
        while current is not None:
            yield current
            current = self.parent(current)

    def statement(self, node: ast.AST) -> ast.stmt | None:
        """The innermost statement that holds `node` (itself, if it is one)."""
        current = node
        while current is not None and not isinstance(current, ast.stmt):
            current = self.parent(current)
        return current

    def scope(self, node: ast.AST) -> Scope:
        """The scope `node` is evaluated in (for a def/class/lambda node itself: the scope it is defined in)."""
        explicit = getattr(node, "_af_scope", None)
        if explicit is not None:
            return explicit
        parents = self._parents
        current = parents.get(id(node))
        while current is not None:
            if current.__class__ in _SCOPE_TYPES:
                return self._opened(current)
            current = parents.get(id(current))
        return self.module_scope

    def _opened(self, node: ast.AST) -> Scope:
        """The scope a def/class/lambda opens, made (with its definition's bindings) on first need."""
        found = self._scope_of.get(id(node))
        if found is None:
            outer = self.scope(node)
            found = self._scope_of[id(node)] = Scope(node, outer, {}, {})
            self._bind_definition(node, outer, found)
        return found

    def scope_of_definition(self, node: ast.AST) -> Scope | None:
        """The scope a def/class/lambda/module node opens."""
        return self._scope_of.get(id(node))

    def function(self, node: ast.AST) -> ast.AST | None:
        """The innermost function (def or lambda) whose body holds `node`, or None at module/class level."""
        scope = self.scope(node)
        while scope is not None and scope.is_class:
            scope = scope.parent
        return scope.node if scope is not None and scope.is_function else None

    def enclosing_class(self, function: ast.AST) -> ast.ClassDef | None:
        """The class a method is defined in directly."""
        scope = self.scope(function)
        return scope.node if scope.is_class else None

    def is_inside(self, node: ast.AST, container: ast.AST) -> bool:
        return node is container or any(a is container for a in self.ancestors(node))

    def enclosing_loops(self, node: ast.AST) -> list[ast.AST]:
        """For/While statements around `node` within its function, innermost first."""
        loops = []
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, _SCOPES):
                break
            if isinstance(ancestor, _LOOPS):
                loops.append(ancestor)
        return loops

    # --- positions ---------------------------------------------------------------------------------
    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            # Python counts lines at "\n" only; str.splitlines would also split at form feeds and others.
            self._lines = self.text.split("\n")
        return self._lines

    def _character_column(self, line: int, byte_offset: int) -> int:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return byte_offset
        return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace"))

    def range(self, node: ast.AST) -> Range:
        return Range(
            node.lineno,
            self._character_column(node.lineno, node.col_offset),
            node.end_lineno or node.lineno,
            self._character_column(node.end_lineno or node.lineno, node.end_col_offset or node.col_offset),
        )

    def source(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or ast.unparse(node)

    # --- names ---------------------------------------------------------------------------------------
    def qualified_name(self, expr: ast.AST) -> str | None:
        """`nn.init.zeros_` -> `torch.nn.init.zeros_`, through the imports visible where `expr` is; else None.

        Only imported names resolve: a local variable that happens to be called `torch` does not. A name bound
        nowhere in the file is a fragment's missing import when the ecosystem fixes its meaning (fragments.py).
        """
        name = dotted(expr)
        if name is None:
            return None
        root = expr
        while isinstance(root, ast.Attribute):
            root = root.value
        head = self._imported(root.id, root)
        if head is None:
            return None
        return head + name[len(root.id):]

    def _imported(self, name: str, at: ast.AST) -> str | None:
        scope = self.scope(at)
        first = True
        while scope is not None:
            if not (scope.is_class and not first):
                if name in scope.imports:
                    # A later non-import rebinding in the same scope shadows the import.
                    if all(b.kind == "import" for b in scope.bindings.get(name, ())):
                        return scope.imports[name]
                    return None
                if name in scope.bindings:
                    return None  # a local variable, parameter, def or class of that name
            first = False
            scope = scope.parent
        # Bound nowhere on the way out: a fragment's missing import (`nn`, `F`, `torch`, ...), unless the file
        # binds the name somewhere else (any binding wins over the convention) or a star import may have.
        meant = conventional_import(name)
        if meant is None or self.star_import or name in self._bound_anywhere():
            return None
        return meant

    def _bound_anywhere(self) -> frozenset[str]:
        """Every name some scope of the file binds (computed once, only for files that look like fragments)."""
        if self._all_bound is None:
            self._all_bound = frozenset(n for scope in self._scope_of.values() for n in scope.bindings)
        return self._all_bound

    def resolves_to(self, expr: ast.AST, *qualified: str) -> bool:
        return self.qualified_name(expr) in qualified

    def is_torch(self, expr: ast.AST, name: str) -> bool:
        """`expr` names `torch.<name>` (with any alias, or via `from torch import <name>`)."""
        return self.qualified_name(expr) == f"torch.{name}"

    def bindings_reaching(self, name: str, use: ast.AST) -> list[Binding] | None:
        """The bindings of `name` that may hold at `use`, or None when the name is not bound in this file
        (a builtin, or from a star import)."""
        scope = self.scope(use)
        if scope.is_class:
            # Class-body names are visible in the class body only.
            own = scope.bindings.get(name)
            if own:
                return self._reaching(own, use)
            scope = scope.parent
        first = True
        while scope is not None:
            if scope.is_class:
                scope = scope.parent
                continue
            found = scope.bindings.get(name)
            if found:
                if first and scope.is_function:
                    return self._reaching(found, use)
                return list(found)  # a closure or module global: any of its bindings
            first = False
            scope = scope.parent
        return None

    def bindings_in_flow(self, name: str, use: ast.AST) -> list[Binding] | None:
        """As `bindings_reaching`, and for a use in a script's own statements (module level, outside any
        function) also only the bindings that reach it in execution order: a script's training loop reads
        `output` from the line above, not from every line that assigns it."""
        scope = self.scope(use)
        if scope is self.module_scope and name in scope.bindings:
            return self._reaching(scope.bindings[name], use)
        return self.bindings_reaching(name, use)

    def _reaching(self, bindings: list[Binding], use: ast.AST) -> list[Binding]:
        position = _start(use)
        before = [b for b in bindings if b.position <= position and b.kind != "comp"]
        comps = [b for b in bindings if b.kind == "comp" and self._comprehension_encloses(b.node, use)]
        if comps:
            return [comps[-1]]
        reaching: list[Binding] = []
        dominated_loop = None
        for binding in reversed(before):
            reaching.append(binding)
            if self._dominates(binding, use):
                dominated_loop = binding
                break
        # A use inside a loop also sees bindings made later in that loop (on the next iteration),
        # unless a binding earlier in the same iteration dominates it.
        for loop in self.enclosing_loops(use):
            if dominated_loop is not None and self.is_inside(dominated_loop.node, loop):
                break
            reaching.extend(b for b in bindings if b.position > position and b.kind != "comp" and self.is_inside(b.node, loop))
        return reaching

    def _comprehension_encloses(self, comprehension: ast.comprehension, use: ast.AST) -> bool:
        generator = self.parent(comprehension)
        return generator is not None and self.is_inside(use, generator) and use is not comprehension.iter

    def _dominates(self, binding: Binding, use: ast.AST) -> bool:
        """True when `binding` runs on every path to `use` (same block, or a block around it)."""
        if binding.kind == "param":
            return True
        statement = binding.node if isinstance(binding.node, ast.stmt) else self.statement(binding.node)
        if statement is None:
            return False
        container = self.parent(statement)
        field = _field_of(container, statement)
        if field is None or field in ("handlers", "orelse", "finalbody") and isinstance(container, ast.Try):
            return False
        # Walk up from the use to the statement that sits in the same block as the binding.
        current = use
        while current is not None and self.parent(current) is not container:
            current = self.parent(current)
        if current is None:
            return False
        if _field_of(container, current) != field:
            return False
        # A binding inside a loop body dominates uses after the loop only if the loop runs: not provable.
        return True


def absolute_module(node: ast.ImportFrom, module: str | None, is_package: bool) -> str | None:
    """The module a `from ... import` names, a relative one resolved against the importing file's `module`."""
    if not node.level:
        return node.module
    if not module:
        return None
    package = module.split(".") if is_package else module.split(".")[:-1]
    if node.level - 1 > len(package) or node.level - 1 == len(package) and not node.module:
        return None
    base = package[:len(package) - (node.level - 1)]
    parts = [*base, *(node.module.split(".") if node.module else [])]
    return ".".join(parts) if parts else None
