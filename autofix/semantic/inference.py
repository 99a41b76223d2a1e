"""The semantic model of one file, built from CPython's `ast`: what each name and expression holds.

Rules ask this model questions ("what is `self.act`?", "does this tensor still carry a graph?", "is
autograd on here?") instead of guessing from spellings or walking the tree again. It is ruff's
Checker + SemanticModel in miniature:

- one walk of the tree records parents, scopes, bindings in source order, imports, the attributes each
  class assigns to `self`, and an index of nodes by type (so a rule visits only the nodes it cares about);
- everything else is computed lazily, on the first question, and memoised: a file no rule asks about
  costs one walk.

What an expression holds is a `Value`: a `Kind` (tensor, parameter, module of a known class, optimizer,
...) and a `Grad` state (leaf requiring grad, graph-connected, cut by `.detach()`/`.data`/`.item()`/...,
made where autograd is off, plain data). Unknown stays unknown: the model never turns "I cannot tell" into
a guess, so a rule that needs a tensor does not fire on an unknown.

Flow sensitivity: inside a function, a use of a name sees the bindings that reach it (the last binding
that dominates it, plus bindings in branches since then, plus bindings later in an enclosing loop).
Module-level and enclosing-function names are joined over all their bindings.
"""
from __future__ import annotations

import ast

from autofix.semantic import layers, torch_ops
from autofix.semantic.callsites import CallSites, Site
from autofix.semantic.conditions import ModeEvaluator
from autofix.semantic.evidence_from_use import UseEvidence, refine
from autofix.semantic.index import ProjectIndex
from autofix.semantic.lattice import (
    A_MODULE,
    PLAIN_TENSOR,
    DATA_OBJECT,
    NONE,
    PARAMETER,
    UNKNOWN,
    Grad,
    Kind,
    Value,
    _combine_grads,
    container,
    join,
    pair,
)
from autofix.semantic.scopes import _SCOPES, FUNCTIONS, Binding, Scopes
from autofix.semantic.syntax import (
    dotted,
    _end,
    _start,
    _in_body,
    _is_constant,
    _is_constant_str,
    _is_static,
    _keyword,
    _keyword_true,
    _same_reference,
)
from autofix.semantic.torch_knowledge import (
    _BUILTIN_DATA,
    _CONTAINER_METHODS,
    _CONTAINER_TYPES,
    _FUNCTION_BASE,
    _MODULE_BASE,
    _MODULE_MAPPINGS,
    _MODULE_SELF_METHODS,
    _MODULE_SEQUENCES,
    _MODULE_WALKS,
    _NN_WITHOUT_WEIGHT,
    _NOT_TENSOR_ATTRIBUTES,
    _NOT_TENSOR_METHODS,
    _OPTIMIZER_BASE,
    _OPTIONAL,
    _PARAM_GROUP,
    _PARAMETER_CONTAINERS,
    _BUFFER_TYPES,
    _PARAMETER_TYPES,
    _REPARAMETRISED,
    _SCHEDULER,
    _TENSOR_NAMESPACES,
    _TENSOR_TYPES,
    _TORCH_NOT_TENSOR,
    FACTORIES,
    MOVERS,
    REWRAPS,
    is_module_class,
    is_optimizer_class,
)


class SemanticModel(Scopes):
    """Everything the rules may ask about one file. Build it with `SemanticModel(tree, text)`."""

    def __init__(self, tree: ast.Module, text: str, path: str = "<stdin>", module: str | None = None,
                 is_package: bool = False, project: ProjectIndex | None = None):
        self.project = project  # what the project's other files define (None: this file alone)
        self._values: dict[int, Value] = {}
        self._in_progress: set[int] = set()
        self._returns: dict[int, Value] = {}
        self._call_sites: CallSites | None = None
        self._trainable: dict | None = None
        self._mentions: dict[int, bool] = {}  # function -> whether it reads a `.training` flag
        self._returns_by_function: dict[int, list[ast.AST]] | None = None
        super().__init__(tree, text, path, module, is_package)
        self._uses = UseEvidence()  # what the code does with each name (evidence_from_use.py)

    # --- values --------------------------------------------------------------------------------------
    def value(self, expr: ast.AST) -> Value:
        """What `expr` holds (memoised)."""
        key = id(expr)
        known = self._values.get(key)
        if known is not None:
            return known
        if key in self._in_progress or len(self._in_progress) > 60:
            return UNKNOWN  # a cycle (`x = x + 1` in a loop) or a very deep chain: do not guess
        self._in_progress.add(key)
        try:
            result = self._infer(expr)
        finally:
            self._in_progress.discard(key)
        self._values[key] = result
        return result

    def kind(self, expr: ast.AST) -> Kind:
        return self.value(expr).kind

    def is_tensor(self, expr: ast.AST) -> bool:
        return self.value(expr).is_tensor

    def is_parameter(self, expr: ast.AST) -> bool:
        return self.value(expr).kind is Kind.PARAMETER

    def grad_enabled(self, node: ast.AST) -> bool | None:
        """False where autograd is off at `node`: inside `with torch.no_grad()`/`inference_mode()`/
        `set_grad_enabled(False)`, a function decorated with one, or `autograd.Function.forward/backward`.
        None when nothing in this file says (a caller may have turned it off)."""
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (ast.With, ast.AsyncWith)) and any(
                self.disables_grad(item.context_expr) for item in ancestor.items
            ):
                return False
            if isinstance(ancestor, FUNCTIONS):
                if any(self.disables_grad(d) for d in ancestor.decorator_list):
                    return False
                if self.is_autograd_function_method(ancestor):
                    return False
                return None
            if isinstance(ancestor, ast.Lambda):
                return None
        return None

    def training_mode(self, node: ast.AST) -> bool | None:
        """False where `node` runs only in evaluation mode (`if not self.training:`, `if not self.training and x:`,
        the `else` of `if self.training:`, in a module's method); True where it runs only in training mode
        (`if p > 0.0:` after `p = 0.0 if not self.training else self.p`); None where the file does not say.
        Tests are evaluated under both modes (conditions.py), not matched by their spelling."""
        function = self.function(node)
        if not isinstance(function, FUNCTIONS) or not self._mentions_training(function):
            return None  # no `self.training` to evaluate: the common case stays one lookup
        evaluator = ModeEvaluator(self._is_training_flag, self._single_assignment)
        child: ast.AST = node
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, _SCOPES):
                return None
            if isinstance(ancestor, (ast.If, ast.IfExp)) and child is not ancestor.test:
                mode = evaluator.branch_mode(ancestor.test, _in_body(ancestor, child))
                if mode is not None:
                    return mode
            child = ancestor
        return None

    def _mentions_training(self, function: ast.AST) -> bool:
        """The function's text reads a `.training` attribute somewhere (memoised per function)."""
        known = self._mentions.get(id(function))
        if known is None:
            lines = self.lines[function.lineno - 1:function.end_lineno]
            known = self._mentions[id(function)] = any(".training" in line for line in lines)
        return known

    def _is_training_flag(self, expr: ast.AST) -> bool:
        """`self.training` on the `self` of a module class."""
        if isinstance(expr, ast.Attribute) and expr.attr == "training" and isinstance(expr.value, ast.Name):
            cls = self._self_class(expr.value)
            return cls is not None and self.is_module_class_def(cls)
        return False

    def _single_assignment(self, name: ast.Name) -> ast.AST | None:
        """The expression of the one plain assignment of `name` that reaches it in its function, if only one does."""
        bindings = self.bindings_reaching(name.id, name)
        if not bindings or len(bindings) != 1:
            return None
        binding = bindings[0]
        if binding.kind != "assign" or binding.path or binding.value is None:
            return None
        if self.function(binding.node) is not self.function(name):
            return None
        return binding.value

    def under_no_grad(self, node: ast.AST) -> bool:
        """Inside `with torch.no_grad():` (or a `@torch.no_grad()` function), within the innermost function.

        inference_mode is left out on purpose: in-place writes under it behave differently."""
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (ast.With, ast.AsyncWith)) and any(
                self.disables_grad(item.context_expr, inference_mode=False) for item in ancestor.items
            ):
                return True
            if isinstance(ancestor, FUNCTIONS):
                return any(self.disables_grad(d, inference_mode=False) for d in ancestor.decorator_list)
            if isinstance(ancestor, ast.Lambda):
                return False
        return False

    def disables_grad(self, expr: ast.AST, inference_mode: bool = True) -> bool:
        """`torch.no_grad()`, `torch.set_grad_enabled(False)`, `torch.inference_mode()` and bare decorators."""
        call = expr if isinstance(expr, ast.Call) else None
        name = self.qualified_name(call.func if call else expr) or ""
        if name == "torch.set_grad_enabled":
            return bool(call and len(call.args) == 1 and _is_constant(call.args[0], False))
        if name in ("torch.inference_mode", "torch.autograd.grad_mode.inference_mode"):
            return inference_mode and not (call and call.args and not _is_constant(call.args[0], True))
        return name in ("torch.no_grad", "torch.autograd.no_grad", "torch.autograd.grad_mode.no_grad") and not (
            call and call.args
        )

    def is_autograd_function_method(self, function: ast.AST) -> bool:
        """`forward`/`backward`/`setup_context` of a `torch.autograd.Function` subclass: autograd is off there."""
        if not isinstance(function, FUNCTIONS) or function.name not in ("forward", "backward", "setup_context", "jvp", "vjp"):
            return False
        cls = self.enclosing_class(function)
        return cls is not None and self.class_extends(cls, _FUNCTION_BASE)

    def class_extends(self, cls: ast.ClassDef, bases: frozenset[str], _seen=None) -> bool:
        """True when `cls` derives (directly, or through classes of this file) from one of `bases`."""
        seen = _seen or set()
        if id(cls) in seen:
            return False
        seen.add(id(cls))
        for base in cls.bases:
            if self.qualified_name(base) in bases:
                return True
            local = self.local_class(base)
            if local is not None and self.class_extends(local, bases, seen):
                return True
        return False

    def is_module_class_def(self, cls: ast.ClassDef) -> bool:
        """A class of this file that derives from nn.Module (directly, via a torch.nn class, or a local class)."""
        for base in cls.bases:
            qualified = self.qualified_name(base)
            if qualified in _MODULE_BASE or is_module_class(qualified):
                return True
            if qualified and self.project is not None and self.project.is_module_class(qualified):
                return True
            local = self.local_class(base)
            if local is not None and local is not cls and self.is_module_class_def(local):
                return True
        return False

    def local_class(self, expr: ast.AST) -> ast.ClassDef | None:
        """The class of this file that `expr` names (`Encoder`), if it names one unambiguously."""
        if not isinstance(expr, ast.Name):
            return None
        bindings = self.bindings_reaching(expr.id, expr)
        if bindings and len(bindings) == 1 and bindings[0].kind == "class":
            return bindings[0].node
        return None

    def local_function(self, expr: ast.AST) -> ast.AST | None:
        """The function of this file that a call's `func` names: `helper` or `self.helper` in a method."""
        if isinstance(expr, ast.Name):
            bindings = self.bindings_reaching(expr.id, expr)
            if bindings and len(bindings) == 1 and bindings[0].kind == "def":
                return bindings[0].node
            return None
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            cls = self._self_class(expr.value)
            if cls is not None:
                return self._method(cls, expr.attr)
        return None

    def _method(self, cls: ast.ClassDef, name: str, _depth: int = 0) -> ast.AST | None:
        for statement in cls.body:
            if isinstance(statement, FUNCTIONS) and statement.name == name:
                return statement
        if _depth < 5:
            for base in cls.bases:
                local = self.local_class(base)
                if local is not None and local is not cls:
                    found = self._method(local, name, _depth + 1)
                    if found is not None:
                        return found
        return None

    def _self_class(self, name: ast.Name) -> ast.ClassDef | None:
        """For `self` inside a method (the first parameter of a non-static method): the class."""
        function = self.function(name)
        if not isinstance(function, FUNCTIONS) or _is_static(function):
            return None
        args = function.args.posonlyargs + function.args.args
        if not args or args[0].arg != name.id:
            return None
        bindings = self.bindings_reaching(name.id, name)
        if not bindings or any(b.kind != "param" for b in bindings):
            return None  # `self` was rebound
        return self.enclosing_class(function)

    def _declared_attribute(self, cls: ast.ClassDef, name: str) -> Value | None:
        """`name: List[nn.Parameter]` in the class body: the attribute's declared type, where it says something."""
        for statement in cls.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) \
                    and statement.target.id == name:
                declared = self._annotation_value(statement.annotation, statement)
                return declared if declared.kind is not Kind.UNKNOWN else None
        return None

    def _project_base_attribute(self, cls: ast.ClassDef, attribute: str) -> Value | None:
        """`self.x` that a base class in another file of the project assigns."""
        for base in cls.bases:
            qualified = self.qualified_name(base)
            if qualified:
                found = self.project.attribute(qualified, attribute)
                if found is not None:
                    return found
        return None

    def attribute_names(self, cls: ast.ClassDef) -> list[str]:
        """The names a class assigns to `self.<name>` in its methods, and in its body."""
        names = list(self._class_attributes.get(id(cls), {}))
        for statement in cls.body:
            if isinstance(statement, ast.Assign):
                names.extend(t.id for t in statement.targets if isinstance(t, ast.Name))
        return list(dict.fromkeys(names))

    def instance_attribute_value(self, cls: ast.ClassDef, name: str) -> Value:
        """What `self.<name>` holds in an instance of `cls` (what the index records for other files)."""
        assigned = [v for v, _ in self.class_attribute(cls, name)]
        if assigned:
            if any(v is None for v in assigned):
                return UNKNOWN
            return join([self.value(v) for v in assigned])
        for statement in cls.body:
            if isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name
                                                         for t in statement.targets):
                return self.value(statement.value)
        return UNKNOWN

    def class_attribute(self, cls: ast.ClassDef, attribute: str, _depth: int = 0) -> list[tuple[ast.AST, ast.AST]]:
        """The (value, method) pairs of every `self.<attribute> = value` in the class (or its local bases)."""
        found = list(self._class_attributes.get(id(cls), {}).get(attribute, ()))
        if _depth < 5:
            for base in cls.bases:
                local = self.local_class(base)
                if local is not None and local is not cls:
                    found.extend(self.class_attribute(local, attribute, _depth + 1))
        return found

    def self_attribute_value(self, expr: ast.Attribute) -> Value | None:
        """For `self.x` in a method: the join of what the class assigns to it; None when not `self.x`."""
        if not isinstance(expr.value, ast.Name):
            return None
        cls = self._self_class(expr.value)
        if cls is None:
            return None
        declared = self._declared_attribute(cls, expr.attr)
        if declared is not None:
            return declared
        assigned = self.class_attribute(cls, expr.attr)
        if not assigned and self.project is not None:
            inherited = self._project_base_attribute(cls, expr.attr)
            if inherited is not None:
                return inherited
        if not assigned:
            # A class attribute in the class body (`act = nn.ReLU()` at class level) also counts.
            for statement in cls.body:
                if isinstance(statement, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == expr.attr for t in statement.targets
                ):
                    return self.value(statement.value)
                if isinstance(statement, FUNCTIONS) and statement.name == expr.attr:
                    return Value(Kind.OBJECT, Grad.DATA, origin="method")
            return UNKNOWN
        values = []
        for value, _method in assigned:
            values.append(UNKNOWN if value is None else self.value(value))
        return self._trainable_if_set(expr, join(values))

    # --- inference ------------------------------------------------------------------------------------
    def _infer(self, expr: ast.AST) -> Value:
        if isinstance(expr, ast.Name):
            return self._name(expr)
        if isinstance(expr, ast.Attribute):
            return self._attribute(expr)
        if isinstance(expr, ast.Call):
            return self._call(expr)
        if isinstance(expr, ast.Subscript):
            return self._subscript(expr)
        if isinstance(expr, ast.Constant):
            return NONE if expr.value is None else DATA_OBJECT
        if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
            starred = any(isinstance(e, ast.Starred) for e in expr.elts)
            elements = [self.value(e) for e in expr.elts if not isinstance(e, ast.Starred)]
            element = join(elements) if elements and not starred else None
            items = tuple(elements) if isinstance(expr, ast.Tuple) and not starred else None
            return container(element, items=items)
        if isinstance(expr, ast.Dict):
            if any(k is None for k in expr.keys):  # `{**other}`
                return container()
            keys = [self.value(k) for k in expr.keys]
            values = [self.value(v) for v in expr.values]
            return container(join(keys) if keys else None, mapped=join(values) if values else None)
        if isinstance(expr, ast.DictComp):
            return container(self.value(expr.key), mapped=self.value(expr.value))
        if isinstance(expr, (ast.JoinedStr, ast.SetComp)):
            return Value(Kind.CONTAINER if not isinstance(expr, ast.JoinedStr) else Kind.OBJECT, Grad.DATA)
        if isinstance(expr, (ast.ListComp, ast.GeneratorExp)):
            element = self.value(expr.elt)
            return Value(Kind.CONTAINER, Grad.DATA, element=element if element.kind is not Kind.UNKNOWN else None)
        if isinstance(expr, ast.BinOp):
            return self._arithmetic([expr.left, expr.right], expr)
        if isinstance(expr, ast.UnaryOp):
            if isinstance(expr.op, ast.Not):
                return DATA_OBJECT
            return self._arithmetic([expr.operand], expr)
        if isinstance(expr, ast.Compare):
            operands = [self.value(e) for e in [expr.left, *expr.comparators]]
            if any(v.is_tensor for v in operands):
                return Value(Kind.TENSOR, Grad.DATA, origin="compare")  # comparisons give bool tensors
            if all(v.kind is Kind.OBJECT for v in operands):
                return DATA_OBJECT
            return UNKNOWN
        if isinstance(expr, ast.IfExp):
            return join([self.value(expr.body), self.value(expr.orelse)])
        if isinstance(expr, ast.NamedExpr):
            return self.value(expr.value)
        if isinstance(expr, ast.Starred):
            return UNKNOWN
        if isinstance(expr, ast.Lambda):
            return Value(Kind.OBJECT, Grad.DATA, origin="lambda")
        if isinstance(expr, ast.BoolOp):
            return join([self.value(v) for v in expr.values])
        if isinstance(expr, ast.Await):
            return UNKNOWN
        return UNKNOWN

    def _in_no_grad(self, node: ast.AST) -> bool:
        return self.grad_enabled(node) is False

    def _arithmetic(self, operands: list[ast.AST], node: ast.AST) -> Value:
        values = [self.value(o) for o in operands]
        tensors = [v for v in values if v.is_tensor]
        if tensors:
            if self._in_no_grad(node):
                return Value(Kind.TENSOR, Grad.OFF, origin="arithmetic")
            return Value(Kind.TENSOR, _combine_grads(values), origin="arithmetic")
        if all(v.kind is Kind.OBJECT for v in values):
            return Value(Kind.OBJECT, _combine_grads(values) if any(v.grad is Grad.CUT for v in values) else Grad.DATA,
                         cut=next((v.cut for v in values if v.cut), None))
        return UNKNOWN

    def _name(self, name: ast.Name) -> Value:
        narrowed = self._narrowed(name)
        if narrowed is not None:
            return narrowed
        bindings = self.bindings_reaching(name.id, name)
        if bindings is None:
            if name.id in ("True", "False", "None") or name.id in _BUILTIN_DATA:
                return DATA_OBJECT
            return refine(UNKNOWN, self.used_as(name))  # a fragment's global: only its uses say
        if not bindings:
            return UNKNOWN
        value = join([self._binding_value(b, name) for b in bindings])
        if value.kind is Kind.UNKNOWN:
            value = refine(value, self.used_as(name))  # the definition is out of sight: its uses say
        return self._trainable_if_set(name, value)

    def used_as(self, name: ast.Name) -> Value | None:
        """What the code's uses of `name` make it (evidence_from_use.py): an optimizer, a module, a loss tensor;
        None when they say nothing. `value` already completes unknown definitions with it."""
        return self._uses.role(self, name)

    def _trainable_if_set(self, expr: ast.AST, value: Value) -> Value:
        """A plain tensor made a leaf that requires grad by `x.requires_grad = True` or `x.requires_grad_()`
        before this use: earlier in the same function, or (for `self.x`) in the class's `__init__`, which runs
        first. `self.log_alpha = torch.tensor(...)`, then `self.log_alpha.requires_grad = True`."""
        if not (value.is_tensor and value.grad is Grad.DATA):
            return value
        function, position = self.function(expr), _start(expr)
        for where, at in self._made_trainable.get(self._reference_key(expr), ()):
            if where is function and at <= position or isinstance(expr, ast.Attribute) \
                    and getattr(where, "name", None) == "__init__" and where is not function:
                return Value(value.kind, Grad.LEAF, origin=value.origin)
        return value

    @property
    def _made_trainable(self) -> dict[tuple[str | None, int], list[tuple[ast.AST | None, tuple[int, int]]]]:
        if self._trainable is None:
            self._trainable = found = {}
            for statement in self.nodes(ast.Assign):
                for target in statement.targets:
                    if isinstance(target, ast.Attribute) and target.attr == "requires_grad" \
                            and _is_constant(statement.value, True):
                        found.setdefault(self._reference_key(target.value), []).append(
                            (self.function(statement), _end(statement)))
            for call in self.calls_to_method("requires_grad_"):
                if not call.args or _is_constant(call.args[0], True):
                    found.setdefault(self._reference_key(call.func.value), []).append(
                        (self.function(call), _end(call)))
        return self._trainable

    def _reference_key(self, expr: ast.AST) -> tuple[str | None, int]:
        """`self.x` by its class, a name by its function: where a requires_grad switch and a use meet."""
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            cls = self._self_class(expr.value)
            if cls is not None:
                return dotted(expr), id(cls)
        return dotted(expr), id(self.function(expr))

    def _binding_value(self, binding: Binding, use: ast.AST) -> Value:
        kind = binding.kind
        if kind in ("assign", "ann", "walrus"):
            if binding.value is None:
                return self._annotation_value(binding.node.annotation, binding.node) if kind == "ann" else UNKNOWN
            value = binding.value
            if binding.path:
                return self._unpacked(value, binding.path)
            if kind == "ann" and binding.node.annotation is not None:
                declared = self._annotation_value(binding.node.annotation, binding.node)
                if declared.kind is not Kind.UNKNOWN:
                    inferred = self.value(value)
                    return inferred if inferred.kind is declared.kind else declared
            return self.value(value)
        if kind == "aug":
            statement = binding.node
            return self._arithmetic([statement.target, statement.value], statement) if not isinstance(
                statement.target, ast.Name
            ) else self._aug_value(statement)
        if kind == "param":
            return self._parameter_value(binding.node)
        if kind in ("for", "comp"):
            iterated = self.value(binding.value)
            element = self._iteration_value(binding.value, iterated)
            if binding.path:
                element = self._unpack_value(element, binding.value, binding.path)
                if element == UNKNOWN:  # `for x, y in loader`: what the body does with the parts may say
                    return self._uses.loop_variable(self, binding, self.value) or element
            return element
        if kind == "import":
            return Value(Kind.OBJECT, Grad.DATA, origin="import")
        if kind == "def":
            return Value(Kind.OBJECT, Grad.DATA, origin="function")
        if kind == "class":
            return Value(Kind.OBJECT, Grad.DATA, origin="class")
        return UNKNOWN

    def _aug_value(self, statement: ast.AugAssign) -> Value:
        # Several augmented assignments in one loop (`depth += 1` ... `depth -= 1`) reach each other: a cycle.
        if id(statement) in self._in_progress:
            return UNKNOWN
        self._in_progress.add(id(statement))
        try:
            return self._aug_value_uncached(statement)
        finally:
            self._in_progress.discard(id(statement))

    def _aug_value_uncached(self, statement: ast.AugAssign) -> Value:
        # `x += y` keeps x's kind; with a tensor it also picks up y's graph.
        before_bindings = self.bindings_reaching(statement.target.id, statement)
        previous = join([self._binding_value(b, statement) for b in before_bindings if b.node is not statement]) if before_bindings else UNKNOWN
        if previous.is_tensor:
            added = self.value(statement.value)
            return Value(previous.kind if previous.kind is Kind.TENSOR else Kind.TENSOR,
                         _combine_grads([previous, added]) if previous.grad is not Grad.LEAF else previous.grad,
                         origin=previous.origin)
        if previous.kind is Kind.OBJECT and self.value(statement.value).kind is Kind.OBJECT:
            return previous
        if previous.kind is Kind.CONTAINER:
            return previous
        return UNKNOWN

    def _unpacked(self, value: ast.AST, path: tuple[int, ...]) -> Value:
        for index in path:
            if isinstance(value, (ast.Tuple, ast.List)) and index < len(value.elts) and not any(
                isinstance(e, ast.Starred) for e in value.elts
            ):
                value = value.elts[index]
            else:
                container = self.value(value)
                return self._unpack_value(container, value, path)
        return self.value(value)

    def _unpack_value(self, container: Value, expr: ast.AST, path: tuple[int, ...]) -> Value:
        """The place `path` of `container` (`a, (b, c) = ...`: b is (1, 0))."""
        value = container
        for index in path:
            if value.items is not None:
                if index >= len(value.items):
                    return UNKNOWN
                value = value.items[index]
            elif value.kind is Kind.CONTAINER and value.element is not None:
                value = value.element
            elif value.is_tensor:
                # Unpacking a tensor (`a, b = x` gives rows of x)
                value = Value(Kind.TENSOR, value.grad)
            else:
                return UNKNOWN
        return value

    def _iteration_value(self, iterable: ast.AST, iterated: Value) -> Value:
        """What one step of `for x in iterable` binds."""
        if iterated.kind is Kind.MODULE and iterated.cls in _PARAMETER_CONTAINERS:
            return PARAMETER if iterated.cls.endswith("List") else DATA_OBJECT
        if iterated.kind is Kind.MODULE and iterated.cls in _MODULE_MAPPINGS:
            return DATA_OBJECT  # iterating a ModuleDict yields its keys
        if iterated.kind is Kind.MODULE and iterated.cls in _MODULE_SEQUENCES:
            found = self._module_element(iterable, None)
            if found.kind is not Kind.UNKNOWN:
                return found
        if iterated.element is not None:
            return iterated.element
        if iterated.is_tensor:
            return Value(Kind.TENSOR, iterated.grad)
        return UNKNOWN

    def _element_of(self, iterable: ast.AST) -> Value:
        """What iterating the expression `iterable` yields (for `zip`, `enumerate`, `map`, ...)."""
        return self._iteration_value(iterable, self.value(iterable))

    def _parameter_value(self, arg: ast.arg) -> Value:
        function = self.parent(self.parent(arg))  # arg -> arguments -> function
        if arg.annotation is not None:
            declared = self._annotation_value(arg.annotation, arg)
            if declared.kind is not Kind.UNKNOWN:
                return declared
        if isinstance(function, FUNCTIONS) and not _is_static(function):
            args = function.args.posonlyargs + function.args.args
            if args and args[0] is arg:
                cls = self.enclosing_class(function)
                if cls is not None:
                    if any(isinstance(d, ast.Name) and d.id == "classmethod" for d in function.decorator_list):
                        return Value(Kind.OBJECT, Grad.DATA, origin="class")
                    kind = Kind.MODULE if self.is_module_class_def(cls) else Kind.OBJECT
                    if kind is Kind.OBJECT and self.class_extends(cls, _OPTIMIZER_BASE):
                        kind = Kind.OPTIMIZER  # `self` of an optimizer written in this file
                    return Value(kind, Grad.DATA, cls=f"<local>.{cls.name}")
        if isinstance(function, FUNCTIONS) and self.is_autograd_function_method(function):
            args = function.args.posonlyargs + function.args.args
            if args and args[0] is arg:
                return Value(Kind.OBJECT, Grad.DATA, origin="ctx")
        if isinstance(function, FUNCTIONS):
            sites = self.call_sites.of(function)
            if sites:
                return join([self._argument_value(function, arg, site) for site in sites])
        return UNKNOWN

    @property
    def call_sites(self) -> CallSites:
        if self._call_sites is None:
            self._call_sites = CallSites(self)
        return self._call_sites

    def _argument_value(self, function: ast.AST, arg: ast.arg, site: Site) -> Value:
        """What `site` passes for the parameter `arg` of `function` (its default when it passes nothing)."""
        arguments = function.args
        positional = arguments.posonlyargs + arguments.args
        index = next((i for i, a in enumerate(positional) if a is arg), None)
        place = None if index is None else index - site.offset
        if arg is arguments.vararg or arg is arguments.kwarg:
            return UNKNOWN
        if site.given is not None:
            if place is not None and 0 <= place < len(site.given):
                return site.given[place]
            for name, value in site.keywords:
                if name == arg.arg:
                    return value
            return self._default_value(function, arg)
        if site.element_of is not None:
            return self._element_of(site.element_of) if place == 0 else self._default_value(function, arg)
        call = site.call
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            return UNKNOWN
        if place is not None and 0 <= place < len(call.args):
            return self.value(call.args[place])
        for keyword in call.keywords:
            if keyword.arg == arg.arg:
                return self.value(keyword.value)
        return self._default_value(function, arg)

    def _default_value(self, function: ast.AST, arg: ast.arg) -> Value:
        arguments = function.args
        positional = arguments.posonlyargs + arguments.args
        if arg in positional:
            offset = len(positional) - len(arguments.defaults)
            index = positional.index(arg) - offset
            return self.value(arguments.defaults[index]) if index >= 0 else UNKNOWN
        if arg in arguments.kwonlyargs:
            default = arguments.kw_defaults[arguments.kwonlyargs.index(arg)]
            return self.value(default) if default is not None else UNKNOWN
        return UNKNOWN

    def callee(self, call: ast.Call) -> ast.AST | None:
        """The function of this file that `call` runs: `helper(...)`, `self.helper(...)`, or `obj.method(...)` on
        an instance of a class of this file."""
        found = self.local_function(call.func)
        if found is not None:
            return found
        func = call.func
        if isinstance(func, ast.Attribute):
            cls = self.local_class_of(self.value(func.value))
            if cls is not None:
                return self._method(cls, func.attr)
        return None

    def called_body(self, call: ast.Call) -> ast.AST | None:
        """The function of this file whose body `call` runs: what `callee` finds, or, for a call on an instance of
        a class of this file, its `forward` (a module) or `__call__`."""
        found = self.callee(call)
        if found is not None:
            return found
        cls = self.local_class_of(self.value(call.func))
        if cls is None:
            return None
        return self._method(cls, "forward" if self.is_module_class_def(cls) else "__call__")

    def local_class_of(self, value: Value) -> ast.ClassDef | None:
        """The class of this file that an instance's value names (`<local>.Encoder`), if exactly one has that name."""
        if not (value.cls or "").startswith("<local>.") or value.kind not in (Kind.MODULE, Kind.OBJECT, Kind.OPTIMIZER):
            return None
        name = value.cls.split(".", 1)[1]
        classes = self.classes_named(name)
        return classes[0] if len(classes) == 1 else None

    def is_static_method(self, function: ast.AST) -> bool:
        return _is_static(function)

    def bases_are_known(self, cls: ast.ClassDef, _depth: int = 0) -> bool:
        """Every base of `cls` is `object`, torch.nn.Module or a torch.nn layer, or a class of this file whose bases
        are known: no code outside this file calls the class's own methods."""
        for base in cls.bases:
            qualified = self.qualified_name(base)
            if qualified in ("torch.nn.Module", "torch.nn.modules.module.Module") or is_module_class(qualified):
                continue
            if isinstance(base, ast.Name) and base.id == "object" and self.bindings_reaching("object", base) is None:
                continue
            local = self.local_class(base)
            if local is None or local is cls or _depth > 5 or not self.bases_are_known(local, _depth + 1):
                return False
        return not cls.keywords  # a metaclass may call anything

    def _annotation_value(self, annotation: ast.AST | None, at: ast.AST) -> Value:
        if annotation is None:
            return UNKNOWN
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                parsed = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return UNKNOWN
            # Resolve names in the parsed string where the annotation is.
            for node in ast.walk(parsed):
                node._af_scope = self.scope(at)  # type: ignore[attr-defined]
                self._parents[id(node)] = at
            self._keep_alive.append(parsed)  # memos are keyed by id(): the nodes must outlive the model
            annotation = parsed
        if isinstance(annotation, ast.Constant) and annotation.value is None:
            return DATA_OBJECT
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            members = [m for m in (annotation.left, annotation.right) if not _is_constant(m, None)]
            return join([self._annotation_value(m, at) for m in members]) if members else DATA_OBJECT
        if isinstance(annotation, ast.Subscript):
            head = self.qualified_name(annotation.value) or (
                annotation.value.id if isinstance(annotation.value, ast.Name) else None
            )
            if head and _OPTIONAL.match(head):
                inner = annotation.slice
                members = inner.elts if isinstance(inner, ast.Tuple) else [inner]
                values = [self._annotation_value(m, at) for m in members
                          if not (isinstance(m, ast.Constant) and m.value is None)]
                return join(values)
            if head and (_CONTAINER_TYPES.match(head) or head in ("list", "tuple", "dict", "set")):
                inner = annotation.slice
                element = None
                if head.split(".")[-1] in ("list", "List", "Sequence", "Iterable", "set", "Set"):
                    element = self._annotation_value(inner, at)
                if head.split(".")[-1] in ("dict", "Dict", "Mapping", "MutableMapping") and isinstance(inner, ast.Tuple) \
                        and len(inner.elts) == 2:
                    return container(self._annotation_value(inner.elts[0], at),
                                     mapped=self._annotation_value(inner.elts[1], at))
                return Value(Kind.CONTAINER, Grad.DATA, element=element if element and element.kind is not Kind.UNKNOWN else None)
            return UNKNOWN
        qualified = self.qualified_name(annotation)
        if qualified is None and isinstance(annotation, ast.Name):
            if annotation.id in _BUILTIN_DATA:
                return Value(Kind.OBJECT, Grad.DATA, origin=annotation.id)
            if annotation.id in ("list", "tuple", "dict", "set"):
                return Value(Kind.CONTAINER, Grad.DATA)
            local = self.local_class(annotation)
            if local is not None:
                kind = Kind.MODULE if self.is_module_class_def(local) else Kind.OBJECT
                return Value(kind, Grad.UNKNOWN if kind is Kind.MODULE else Grad.DATA, cls=f"<local>.{local.name}")
            return UNKNOWN
        if qualified is None:
            return UNKNOWN
        if qualified in _TENSOR_TYPES:
            return Value(Kind.TENSOR, Grad.UNKNOWN)
        if qualified in _PARAMETER_TYPES:
            return Value(Kind.PARAMETER, Grad.UNKNOWN)
        if qualified in _MODULE_BASE or is_module_class(qualified):
            return Value(Kind.MODULE, Grad.UNKNOWN, cls=qualified)
        if qualified in ("torch.optim.Optimizer", "torch.optim.optimizer.Optimizer") or is_optimizer_class(qualified):
            return Value(Kind.OPTIMIZER, Grad.DATA, cls=qualified)
        if _SCHEDULER.match(qualified) or qualified == "torch.optim.lr_scheduler._LRScheduler":  # `s: LRScheduler`
            return Value(Kind.SCHEDULER, Grad.DATA, cls=qualified)
        if _CONTAINER_TYPES.match(qualified):
            return Value(Kind.CONTAINER, Grad.DATA)
        if qualified in ("typing.Any", "typing.Callable", "collections.abc.Callable") or qualified.startswith("typing."):
            return UNKNOWN
        if qualified.startswith("torch.") and not qualified.startswith("torch_geometric"):
            return UNKNOWN  # another torch type (Size, device, dtype, ...): not worth a guess
        if self.project is not None:
            found = self.project.class_value(qualified)
            if found is not None:
                return found if found.kind is not Kind.MODULE else Value(Kind.MODULE, Grad.UNKNOWN, cls=found.cls)
        # An imported class from elsewhere (`torch_geometric.data.Data`, `transformers.PretrainedConfig`).
        return Value(Kind.OBJECT, Grad.DATA, cls=qualified)

    def _narrowed(self, name: ast.AST) -> Value | None:
        """`m` inside `if isinstance(m, nn.Linear):` is an nn.Linear (also `elif`, `and`-joined tests, `or`-joined
        isinstance tests, and `self.x` attributes as well as names)."""
        classes = self._narrowing_classes(name)
        if classes is None:
            return None
        values = []
        for cls in classes:
            qualified = self.qualified_name(cls)
            if qualified in _TENSOR_TYPES:
                values.append(Value(Kind.TENSOR, Grad.UNKNOWN))
            elif qualified in _PARAMETER_TYPES:
                values.append(Value(Kind.PARAMETER, Grad.LEAF))
            elif qualified in _MODULE_BASE or is_module_class(qualified):
                values.append(Value(Kind.MODULE, Grad.DATA, cls=qualified if len(classes) == 1 else None))
            else:
                local = self.local_class(cls)
                if local is not None and self.is_module_class_def(local):
                    values.append(Value(Kind.MODULE, Grad.DATA, cls=f"<local>.{local.name}"))
                else:
                    return None
        return join(values) if values else None

    def _narrowing_classes(self, target: ast.AST) -> list[ast.AST] | None:
        """The class expressions of the `isinstance(target, ...)` test of an enclosing `if` whose body holds
        `target`; None when no such test narrows it."""
        child: ast.AST = target
        for ancestor in self.ancestors(target):
            if isinstance(child, ast.stmt):
                found = self._guarded_classes(ancestor, child, target)
                if found is not None:
                    return found
            if isinstance(ancestor, _SCOPES):
                return None
            if isinstance(ancestor, (ast.If, ast.IfExp)) and _in_body(ancestor, child):
                found = self._isinstance_classes(ancestor.test, target)
                if found is not None:
                    return found
            child = ancestor
        return None

    def _guarded_classes(self, block_owner: ast.AST, statement: ast.stmt, target: ast.AST) -> list[ast.AST] | None:
        """`if not isinstance(m, (nn.Linear, nn.Embedding)): return` earlier in the same block as `statement`:
        past it, `m` is one of those classes (the guard's body always leaves: return, raise, continue, break)."""
        for field in ("body", "orelse", "finalbody"):
            block = getattr(block_owner, field, None)
            if isinstance(block, list) and any(s is statement for s in block):
                break
        else:
            return None
        for earlier in block[:next(i for i, s in enumerate(block) if s is statement)]:
            if not (isinstance(earlier, ast.If) and not earlier.orelse and earlier.body
                    and isinstance(earlier.body[-1], (ast.Return, ast.Raise, ast.Continue, ast.Break))):
                continue
            test = earlier.test
            if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
                found = self._isinstance_classes(test.operand, target)
                if found is not None:
                    return found
        return None

    def _isinstance_classes(self, test: ast.AST, target: ast.AST) -> list[ast.AST] | None:
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
            for value in test.values:
                found = self._isinstance_classes(value, target)
                if found is not None:
                    return found
            return None
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
            # `isinstance(m, A) or isinstance(m, B)`: m is one of them only when every arm tests m.
            classes: list[ast.AST] = []
            for value in test.values:
                found = self._isinstance_classes(value, target)
                if found is None:
                    return None
                classes.extend(found)
            return classes
        if not (
            isinstance(test, ast.Call)
            and isinstance(test.func, ast.Name)
            and test.func.id == "isinstance"
            and len(test.args) == 2
            and _same_reference(test.args[0], target)
        ):
            return None
        return list(test.args[1].elts) if isinstance(test.args[1], ast.Tuple) else [test.args[1]]

    def _attribute(self, expr: ast.Attribute) -> Value:
        if isinstance(expr.value, ast.Name):
            narrowed = self._narrowed(expr)  # `if isinstance(self.p, Tensor): self.p...`
            if narrowed is not None:
                return narrowed
        own = self.self_attribute_value(expr)
        if own is not None and (own.kind is not Kind.UNKNOWN or self._assigns(expr)):
            return own
        if own is not None:
            registered = self._registered(expr)  # `self.register_buffer("x", ...)` then `self.x`
            if registered is not None:
                return registered
            inherited = layers.inherited_slot(self, self._self_class(expr.value), expr.attr)
            if inherited is not None:
                return inherited  # `self.weight` in a subclass of nn.Linear
        qualified = self.qualified_name(expr)
        if qualified is not None:
            return Value(Kind.OBJECT, Grad.DATA, origin=qualified)  # a module attribute such as torch.float32
        owner = self.dereferenced_value(expr.value)
        attr = expr.attr
        if owner.kind in (Kind.MODULE, Kind.OBJECT) and (owner.cls or "").startswith("<local>."):
            found = self._instance_attribute(owner.cls, attr)  # `self.flava.logit_scale`, FlavaModel of this file
            if found is not None:
                return found
        elif owner.kind in (Kind.MODULE, Kind.OBJECT, Kind.OPTIMIZER) and owner.cls and self.project is not None:
            found = self.project.attribute(owner.cls, attr)  # `net.fc`, with Net from another file
            if found is not None:
                return found
        if owner.is_tensor:
            if attr == "data":
                return Value(Kind.TENSOR, Grad.CUT, origin=owner.origin, cut="data", cut_node=expr)
            if attr == "grad":
                return Value(Kind.TENSOR, Grad.DATA, origin="grad")
            if attr in ("T", "mT", "H", "mH", "real", "imag"):
                return Value(Kind.TENSOR, owner.grad if owner.grad is not Grad.LEAF else Grad.CONNECTED, origin=owner.origin)
            if attr in _NOT_TENSOR_ATTRIBUTES:
                return DATA_OBJECT
            return UNKNOWN
        if owner.kind is Kind.MODULE:
            if attr in _REPARAMETRISED.get(owner.origin or "", ()):
                return PARAMETER  # `weight_g` of `nn.utils.weight_norm(layer)`
            slot = layers.class_slot(self, owner.cls, attr)
            if slot is not None:
                return slot  # `layer.in_proj_weight` of an nn.MultiheadAttention (torch table)
            if attr in ("weight", "bias") and owner.cls and is_module_class(owner.cls):
                if _NN_WITHOUT_WEIGHT.match(owner.cls) or owner.cls not in _MODULE_BASE \
                        and torch_ops.module_parameters(owner.cls) is not None:
                    return UNKNOWN  # torch's layer has no such slot (`bias` of an nn.Embedding)
                return Value(Kind.PARAMETER, Grad.LEAF)
            if attr in ("weight", "bias") and owner.cls is None and self._narrowed_to_weighted_layers(expr.value, attr):
                return Value(Kind.PARAMETER, Grad.LEAF)
            if attr == "training":
                return DATA_OBJECT
            return UNKNOWN
        if owner.kind is Kind.OPTIMIZER and attr == "param_groups":
            return container(_PARAM_GROUP)
        return UNKNOWN

    def _subscript(self, expr: ast.Subscript) -> Value:
        owner = self.value(expr.value)
        if owner.kind is Kind.MODULE and owner.cls in _PARAMETER_CONTAINERS:
            return PARAMETER if not isinstance(expr.slice, ast.Slice) else owner
        if owner.kind is Kind.MODULE and owner.cls in _MODULE_MAPPINGS:
            return self._module_element(expr.value, None)  # `self.heads[name]`: any of the submodules it holds
        if owner.kind is Kind.MODULE and owner.cls in _MODULE_SEQUENCES:
            if isinstance(expr.slice, ast.Slice):
                return owner  # a slice of a Sequential/ModuleList is one of the same class
            element = self._module_element(expr.value, expr.slice)
            if element.kind is not Kind.UNKNOWN:
                return element
            if owner.items is not None and isinstance(expr.slice, ast.Constant) and type(expr.slice.value) is int \
                    and 0 <= expr.slice.value < len(owner.items):
                return owner.items[expr.slice.value]  # built in another file (the index keeps the members)
            if owner.element is not None:
                return owner.element
            # Any index gives one of the members, those appended later included; and these containers hold
            # only modules (ModuleList.append and Sequential refuse anything else).
            anyone = self._module_element(expr.value, None)
            return anyone if anyone.kind is not Kind.UNKNOWN else A_MODULE
        if owner.kind is Kind.CONTAINER and owner.origin == "param_group":
            # optimizer.param_groups[i]: a dict whose "params" are the parameters it updates.
            if _is_constant_str(expr.slice, "params"):
                # Leaves that require grad: Parameters, or the plain leaves an optimizer may also be given.
                return container(Value(Kind.TENSOR, Grad.LEAF))
            return UNKNOWN
        if owner.kind is Kind.CONTAINER and owner.mapped is not None and not isinstance(expr.slice, ast.Slice):
            return owner.mapped
        if owner.kind is Kind.CONTAINER and owner.items is not None and isinstance(expr.slice, ast.Constant) \
                and type(expr.slice.value) is int and -len(owner.items) <= expr.slice.value < len(owner.items):
            return owner.items[expr.slice.value]
        if owner.is_tensor:
            if self._in_no_grad(expr):
                return Value(Kind.TENSOR, Grad.OFF, origin="index")
            grad = Grad.CONNECTED if owner.grad is Grad.LEAF else owner.grad
            return Value(Kind.TENSOR, grad, origin=owner.origin, cut=owner.cut, cut_node=owner.cut_node)
        if owner.kind is Kind.CONTAINER and owner.element is not None and not isinstance(expr.slice, ast.Slice):
            return owner.element
        if owner.kind is Kind.CONTAINER and isinstance(expr.slice, ast.Slice):
            return owner
        if owner.kind is Kind.MODULE and owner.element is not None:
            return owner if isinstance(expr.slice, ast.Slice) else owner.element  # `self.layers[i]` of a ModuleList
        return UNKNOWN

    def _call(self, call: ast.Call) -> Value:
        func = call.func
        qualified = self.qualified_name(func)
        if qualified is not None:
            return self._qualified_call(qualified, call)
        if isinstance(func, ast.Name):
            builtin = self._builtin_call(func, call)
            if builtin is not None:
                return builtin
            local = self.local_class(func)
            if local is not None:
                if self.is_module_class_def(local):
                    return Value(Kind.MODULE, Grad.DATA, cls=f"<local>.{local.name}")
                return Value(Kind.OBJECT, Grad.DATA, cls=f"<local>.{local.name}")
        function = self.local_function(func)
        if function is not None:
            return self.returns(function)
        if isinstance(func, ast.Attribute):
            held = self.self_attribute_value(func)
            if held is not None and held.kind is Kind.MODULE:
                return self._module_call(held, call)  # `self.act(x)` with `self.act = nn.SiLU()`
            return self._method_call(call, func)
        callee = self.value(func)
        if callee.kind is Kind.MODULE:
            return self._module_call(callee, call)
        return UNKNOWN

    def _builtin_call(self, func: ast.Name, call: ast.Call) -> Value | None:
        if self.bindings_reaching(func.id, func) is not None:
            return None  # shadowed by something of this file
        name = func.id
        if name in ("len", "int", "float", "str", "bool", "repr", "hash", "id", "isinstance", "hasattr", "callable",
                    "abs", "round", "format", "ord", "chr", "print", "issubclass", "getattr_static"):
            if name in ("float", "int") and call.args:
                inner = self.value(call.args[0])
                if inner.is_tensor:
                    return Value(Kind.OBJECT, Grad.CUT, cut="item", cut_node=call)
            return DATA_OBJECT
        if name in ("list", "tuple", "sorted", "reversed", "iter", "set", "frozenset", "filter"):
            source = call.args[-1 if name == "filter" else 0] if call.args else None
            if source is None:
                return container()
            return container(self._element_of(source))
        if name == "dict":
            if len(call.args) == 1 and not call.keywords:
                given = self.value(call.args[0])
                if given.kind is Kind.CONTAINER and given.mapped is not None:
                    return container(given.element, mapped=given.mapped)  # a copy of a mapping
                pairs = self._element_of(call.args[0]).items
                if pairs is not None and len(pairs) == 2:
                    return container(pairs[0], mapped=pairs[1])  # `dict(model.named_parameters())`
            return container()
        if name == "range":
            return container(DATA_OBJECT, origin="range")
        if name == "enumerate":
            return container(pair(DATA_OBJECT, self._element_of(call.args[0]))) if call.args else container()
        if name == "zip":
            # `strict=` only decides whether unequal lengths raise: the elements are the same
            if any(k.arg != "strict" for k in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args):
                return container()
            places = tuple(self._element_of(a) for a in call.args)
            return container(container(join(list(places)), items=places))
        if name == "map" and len(call.args) >= 2:
            function = self.local_function(call.args[0])
            return container(self.returns(function) if function is not None else None)
        if name in ("sum", "max", "min"):
            values = [self.value(a) for a in call.args[:1]]
            if values and values[0].kind is Kind.CONTAINER and values[0].element is not None:
                element = values[0].element
                return Value(element.kind, _combine_grads([element])) if element.is_tensor else UNKNOWN
            return UNKNOWN
        return None

    def _qualified_call(self, qualified: str, call: ast.Call) -> Value:
        no_grad = self._in_no_grad(call)
        if qualified in _PARAMETER_TYPES:
            frozen = _keyword(call, "requires_grad")
            if frozen is not None and _is_constant(frozen, False):
                return Value(Kind.PARAMETER, Grad.DATA, origin=qualified)
            return Value(Kind.PARAMETER, Grad.LEAF, origin=qualified)
        if qualified in _BUFFER_TYPES:
            return PLAIN_TENSOR
        if qualified in _REPARAMETRISED and call.args:
            module = self.value(call.args[0])
            if module.kind is Kind.MODULE:  # the same module, with new parameters (which `_attribute` knows)
                return Value(Kind.MODULE, Grad.DATA, cls=module.cls, origin=qualified, element=module.element)
            return UNKNOWN
        if qualified == "torch.autograd.Variable":
            inner = self.value(call.args[0]) if call.args else UNKNOWN
            if _keyword_true(call, "requires_grad"):
                if inner.requires_grad or inner.grad is Grad.CUT:
                    return Value(Kind.TENSOR, Grad.LEAF, origin=qualified, cut="rewrap", cut_node=call)
                return Value(Kind.TENSOR, Grad.LEAF, origin=qualified)
            return Value(Kind.TENSOR, inner.grad if inner.is_tensor else Grad.UNKNOWN, origin=qualified)
        if qualified.startswith("torch.") and qualified.count(".") == 1:
            name = qualified[6:]
            if name in FACTORIES or name in REWRAPS:
                return self._factory(name, qualified, call)
            if name in _TORCH_NOT_TENSOR:
                return DATA_OBJECT if name not in ("load", "compile") else UNKNOWN
            if name[:1].isupper():
                return UNKNOWN  # torch.Generator, torch.Size, ...
            return self._tensor_function(qualified, call, no_grad)
        if qualified.startswith(_TENSOR_NAMESPACES):
            return self._tensor_function(qualified, call, no_grad)
        if _SCHEDULER.match(qualified):
            return Value(Kind.SCHEDULER, Grad.DATA, cls=qualified)
        if is_optimizer_class(qualified):
            return Value(Kind.OPTIMIZER, Grad.DATA, cls=qualified)
        if is_module_class(qualified) or qualified in _MODULE_BASE:
            return Value(Kind.MODULE, Grad.DATA, cls=qualified, element=self._module_list_element(qualified, call))
        if qualified == "itertools.chain" and not call.keywords and not any(isinstance(a, ast.Starred) for a in call.args):
            # `chain(model.parameters(), model.buffers())`: each of the iterables' elements, in turn.
            elements = [self._element_of(a) for a in call.args]
            return container(join(elements) if elements else None)
        if qualified.startswith("torch.nn.init."):
            return Value(Kind.TENSOR, Grad.LEAF if qualified.endswith("_") else Grad.UNKNOWN)
        if qualified.startswith("numpy.") or qualified.startswith("math.") or qualified.startswith("os.") or \
                qualified.startswith("random.") or qualified.startswith("time."):
            return DATA_OBJECT
        if self.project is not None:
            # A class or function of another file of the project (`from model import Net; Net()`).
            found = self.project.class_value(qualified)
            if found is not None:
                return found
            returned = self.project.function_returns(qualified)
            if returned is not None:
                return returned
        return UNKNOWN

    def _factory(self, name: str, qualified: str, call: ast.Call) -> Value:
        asks = _keyword_true(call, "requires_grad")
        if name in REWRAPS and call.args:
            inner = self.value(call.args[0])
            if inner.requires_grad or inner.grad is Grad.CUT:
                # A new leaf built from values that had a graph: the graph is cut, whatever requires_grad says.
                return Value(Kind.TENSOR, Grad.LEAF if asks else Grad.CUT, origin=qualified, cut="rewrap", cut_node=call)
        if name.endswith("_like") and call.args and not asks:
            return Value(Kind.TENSOR, Grad.DATA, origin=qualified)
        return Value(Kind.TENSOR, Grad.LEAF if asks else Grad.DATA, origin=qualified)

    def _tensor_function(self, qualified: str, call: ast.Call, no_grad: bool) -> Value:
        arguments = [self.value(a) for a in call.args if not isinstance(a, ast.Starred)]
        arguments += [self.value(k.value) for k in call.keywords if k.arg not in ("dim", "dtype", "out", "device")]
        if no_grad:
            return Value(Kind.TENSOR, Grad.OFF, origin=qualified)
        flattened = []
        for argument in arguments:
            if argument.kind is Kind.CONTAINER and argument.element is not None:
                flattened.append(argument.element)
            else:
                flattened.append(argument)
        return Value(Kind.TENSOR, _combine_grads(flattened), origin=qualified)

    def _method_call(self, call: ast.Call, func: ast.Attribute) -> Value:
        owner = self.value(func.value)
        method = func.attr
        if owner.is_tensor:
            return self._tensor_method(owner, method, call)
        if owner.kind is Kind.MODULE:
            walked = _MODULE_WALKS.get(method)
            if walked is not None:
                return walked
            if method in _MODULE_SELF_METHODS:
                return owner
            if method == "forward":
                return self._module_call(owner, call)
            if owner.cls in _MODULE_MAPPINGS and method in ("items", "values", "keys"):
                return self._mapping_view(container(DATA_OBJECT, mapped=self._module_element(func.value, None)), method)
            return UNKNOWN
        if method in ("parameters", "named_parameters", "buffers", "named_buffers") and not call.args \
                and owner.kind is Kind.UNKNOWN:
            # `.parameters()` (and `.buffers()`) is nn.Module's; on an object we cannot see, it still yields
            # parameters (the one other common `parameters` is a method of this file's own classes, found above).
            return _MODULE_WALKS[method]
        if owner.kind is Kind.CONTAINER:
            if method in ("items", "values", "keys"):
                return self._mapping_view(owner, method)
            if method in ("pop", "get") and (owner.mapped or owner.element) is not None:
                return owner.mapped or owner.element
            if method in ("copy",):
                return owner
            return UNKNOWN
        return UNKNOWN

    @staticmethod
    def _mapping_view(mapping: Value, method: str) -> Value:
        """`d.items()`, `d.values()`, `d.keys()` of a mapping whose keys and values may be known."""
        if method == "keys":
            return container(mapping.element)
        if mapping.mapped is None:
            return container()
        if method == "values":
            return container(mapping.mapped)
        return container(pair(mapping.element or UNKNOWN, mapping.mapped))

    def _tensor_method(self, owner: Value, method: str, call: ast.Call) -> Value:
        if method == "detach":
            return Value(Kind.TENSOR, Grad.CUT, origin=owner.origin, cut="detach", cut_node=call)
        if method in ("item", "tolist"):
            return Value(Kind.OBJECT, Grad.CUT, cut=method, cut_node=call)
        if method == "numpy":
            return Value(Kind.OBJECT, Grad.CUT, cut="numpy", cut_node=call)
        if method in _NOT_TENSOR_METHODS:
            return DATA_OBJECT
        if method in _CONTAINER_METHODS:
            return Value(Kind.CONTAINER, Grad.DATA, element=Value(Kind.TENSOR, Grad.CONNECTED if owner.grad is Grad.LEAF else owner.grad))
        if method == "requires_grad_":
            frozen = call.args and _is_constant(call.args[0], False) or _is_constant(_keyword(call, "requires_grad"), False)
            return Value(owner.kind, Grad.DATA if frozen else Grad.LEAF, origin=owner.origin)
        if method.endswith("_") and not method.startswith("_"):
            return owner  # in-place methods return their receiver
        if method in ("clone", "contiguous") and owner.grad is Grad.LEAF:
            return Value(Kind.TENSOR, Grad.CONNECTED, origin=owner.origin)
        if self._in_no_grad(call):
            return Value(Kind.TENSOR, Grad.OFF, origin=f"Tensor.{method}")
        grads = [owner] + [self.value(a) for a in call.args if not isinstance(a, ast.Starred)]
        grad = _combine_grads(grads)
        if method in MOVERS or method == "clone" or torch_ops.returns_view(torch_ops.method(method)):
            return Value(Kind.TENSOR, grad, origin=owner.origin if method in MOVERS else f"Tensor.{method}",
                         cut=owner.cut, cut_node=owner.cut_node)
        return Value(Kind.TENSOR, grad, origin=f"Tensor.{method}")

    def _module_call(self, module: Value, call: ast.Call) -> Value:
        if self._in_no_grad(call):
            return Value(Kind.TENSOR, Grad.OFF, origin=module.cls)
        inputs = [self.value(a) for a in call.args if not isinstance(a, ast.Starred)]
        if module.cls and is_module_class(module.cls) and _NN_WITHOUT_WEIGHT.match(module.cls):
            # Parameter-free layers: the output carries whatever graph the input carried.
            return Value(Kind.TENSOR, _combine_grads(inputs) if inputs else Grad.UNKNOWN, origin=module.cls)
        owns = module.cls and (is_module_class(module.cls) or self._owns_parameters(module))
        return Value(Kind.TENSOR, Grad.CONNECTED if owns else Grad.UNKNOWN, origin=module.cls)

    def _owns_parameters(self, module: Value, depth: int = 0) -> bool:
        """An instance of a module class of this file that holds a Parameter or a layer with weights (directly
        or in a submodule of this file): called with autograd on, its output carries a graph."""
        cls = self.local_class_of(module)
        if cls is None or depth > 4:
            return False
        for name in self.attribute_names(cls):
            held = self.instance_attribute_value(cls, name)
            if held.kind is Kind.PARAMETER and held.grad is Grad.LEAF:
                return True
            if held.kind is Kind.MODULE and held.cls and is_module_class(held.cls) \
                    and not _NN_WITHOUT_WEIGHT.match(held.cls):
                return True
            if held.kind is Kind.MODULE and self._owns_parameters(held, depth + 1):
                return True
        return False

    def returns(self, function: ast.AST) -> Value:
        """What a function of this file returns (the join of its `return` values; parameters unknown)."""
        key = id(function)
        if key in self._returns:
            return self._returns[key]
        self._returns[key] = UNKNOWN  # recursion guard
        if isinstance(function, ast.Lambda):
            result = self.value(function.body)
        else:
            own = self._own_returns().get(key, ())
            values = [self.value(r.value) if r.value is not None else DATA_OBJECT
                      for r in own if isinstance(r, ast.Return)]
            if any(not isinstance(r, ast.Return) for r in own):
                values = [Value(Kind.CONTAINER, Grad.DATA)]
            result = join(values) if values else DATA_OBJECT
            if function.returns is not None:
                # A declared return type (`-> Dict[str, nn.Parameter]`) says more than `return {}` does.
                declared = self._annotation_value(function.returns, function)
                if declared.kind is not Kind.UNKNOWN:
                    result = declared
        self._returns[key] = result
        return result

    def _own_returns(self) -> dict[int, list[ast.AST]]:
        """id(function) -> its own `return`, `yield` and `yield from` nodes: one pass for the whole file, so that
        asking what every function returns costs linear time, not a scan of the file per function."""
        if self._returns_by_function is None:
            found: dict[int, list[ast.AST]] = {}
            for node in self.nodes(ast.Return, ast.Yield, ast.YieldFrom):
                found.setdefault(id(self.function(node)), []).append(node)
            self._returns_by_function = found
        return self._returns_by_function

    # --- added for the GF2xx port (loss flow) ---------------------------------------------------------
    def parameter_value(self, arg: ast.arg) -> Value:
        """What a function parameter holds on entry, as far as the file says (its annotation, `self`, `ctx`)."""
        return self._parameter_value(arg)


    # --- GF1xx additions: what the `.data`-write rules need -------------------------------------------------
    def dereferenced_value(self, expr: ast.AST) -> Value:
        """What `expr` holds where it is dereferenced (`expr.attr`, `expr[i]`): a `None` it may also hold cannot
        reach there (the access would raise), so `self.emb = None` next to `self.emb = nn.Embedding(...)` is an
        Embedding here. This is how the model already reads an `Optional[Tensor]` annotation."""
        value = self.value(expr)
        if value.kind is not Kind.UNKNOWN:
            return value
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            cls = self._self_class(expr.value)
            if cls is None:
                return value
            assigned = [v for v, _ in self.class_attribute(cls, expr.attr)]
            kept = [v for v in assigned if not _is_constant(v, None)]
            if kept and len(kept) < len(assigned) and all(v is not None for v in kept):
                return join([self.value(v) for v in kept])
        elif isinstance(expr, ast.Name):
            bindings = self.bindings_reaching(expr.id, expr) or []
            kept = [b for b in bindings if not (b.kind in ("assign", "ann") and not b.path and _is_constant(b.value, None))]
            if kept and len(kept) < len(bindings):
                return join([self._binding_value(b, expr) for b in kept])
        return value

    def _registered(self, expr: ast.Attribute) -> Value | None:
        """For `self.x`: what `self.register_parameter("x", v)` / `self.register_buffer("x", v)` in the class
        made it (a parameter; a tensor), or None when the class registers no such name."""
        cls = self._self_class(expr.value) if isinstance(expr.value, ast.Name) else None
        if cls is None:
            return None
        values = []
        for call in self.calls_to_method("register_parameter", "register_buffer"):
            receiver = call.func.value
            name, held = layers.registration(call)
            if not (_is_constant_str(name, expr.attr) and held is not None and isinstance(receiver, ast.Name)
                    and self._self_class(receiver) is cls):
                continue
            if _is_constant(held, None):
                values.append(DATA_OBJECT)  # an optional buffer left empty
                continue
            is_parameter = call.func.attr == "register_parameter"
            values.append(Value(Kind.PARAMETER if is_parameter else Kind.TENSOR,
                                Grad.LEAF if is_parameter else self.value(held).grad))
        return join(values) if values else None

    def _instance_attribute(self, cls_name: str, attribute: str) -> Value | None:
        """`obj.x` where obj is an instance of a class of this file: the join of what its methods assign to
        `self.x`; None when the class (one of that name) assigns nothing to it."""
        classes = self.classes_named(cls_name.split(".", 1)[1])
        if len(classes) != 1:
            return None
        assigned = [v for v, _ in self.class_attribute(classes[0], attribute)]
        if not assigned or any(v is None for v in assigned):
            return None
        return join([self.value(v) for v in assigned])

    def _assigns(self, expr: ast.Attribute) -> bool:
        """For `self.x`: the class (or a local base) assigns `x` somewhere, in a method or in its body."""
        cls = self._self_class(expr.value) if isinstance(expr.value, ast.Name) else None
        if cls is None:
            return True  # not `self.x`: nothing to fall back on
        if self.class_attribute(cls, expr.attr):
            return True
        return any(
            isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == expr.attr for t in statement.targets)
            or isinstance(statement, FUNCTIONS) and statement.name == expr.attr
            for statement in cls.body
        )

    def _narrowed_to_weighted_layers(self, expr: ast.AST, attribute: str = "weight") -> bool:
        """`m` under a test that admits only modules holding a `weight` (or `bias`) parameter:

        - `isinstance(m, (nn.Linear, nn.Conv2d))`, every class of which has one;
        - `m.__class__.__name__` / `type(m).__name__` tested for a substring (`classname.find('Conv') != -1`,
          `'Linear' in classname`, `.startswith(...)`, `==`), the classic `weights_init` passed to
          `Module.apply`: the attribute is then read from the modules the test admits, and in torch.nn a
          module's `weight`/`bias` is a Parameter (or None, where reading `.data` of it would raise);
        - `hasattr(m, 'weight')` / `getattr(m, 'weight', None) is not None`, for the same reason.
        """
        if not isinstance(expr, (ast.Name, ast.Attribute)):
            return False
        classes = self._narrowing_classes(expr)
        if classes:
            names = [self.qualified_name(c) for c in classes]
            if all(is_module_class(n) for n in names):
                return not any(_NN_WITHOUT_WEIGHT.match(n) for n in names)
            # Classes held in variables (`isinstance(m, self.conv_type)`), on something known to be a module: the
            # test admits only the layers whose weight is then read.
            return not any(is_module_class(n) and _NN_WITHOUT_WEIGHT.match(n) for n in names if n)
        return self._enclosing_test(expr, lambda test: self._tests_class_name(test, expr)
                                    or _tests_has_attribute(test, expr, attribute))

    def _enclosing_test(self, target: ast.AST, holds) -> bool:
        """Some `if`/`elif`/conditional-expression test around `target` (whose body holds it) satisfies `holds`,
        directly or as one operand of an `and`."""
        child: ast.AST = target
        for ancestor in self.ancestors(target):
            if isinstance(ancestor, _SCOPES):
                return False
            if isinstance(ancestor, (ast.If, ast.IfExp)) and _in_body(ancestor, child):
                tests = ancestor.test.values if isinstance(ancestor.test, ast.BoolOp) and isinstance(
                    ancestor.test.op, ast.And) else [ancestor.test]
                if any(holds(t) for t in tests):
                    return True
            child = ancestor
        return False

    def _tests_class_name(self, test: ast.AST, target: ast.AST) -> bool:
        """`test` compares the class name of `target` with a string (directly or through a name bound to it)."""
        for node in ast.walk(test):
            if self._is_class_name_of(node, target):
                return any(isinstance(n, ast.Constant) and isinstance(n.value, str) for n in ast.walk(test))
        return False

    def _is_class_name_of(self, node: ast.AST, target: ast.AST) -> bool:
        """`target.__class__.__name__`, `type(target).__name__`, or a name bound once to one of them."""
        if isinstance(node, ast.Attribute) and node.attr == "__name__":
            owner = node.value
            if isinstance(owner, ast.Attribute) and owner.attr == "__class__":
                return _same_reference(owner.value, target)
            if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "type" \
                    and len(owner.args) == 1:
                return _same_reference(owner.args[0], target)
            return False
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            bindings = self.bindings_reaching(node.id, node)
            if bindings and len(bindings) == 1 and bindings[0].kind == "assign" and not bindings[0].path:
                value = bindings[0].value
                return isinstance(value, ast.Attribute) and self._is_class_name_of(value, target)
        return False

    def _module_element(self, container: ast.AST, index: ast.AST | None) -> Value:
        """A submodule of an `nn.Sequential(a, b)` / `nn.ModuleList([a, b])` built in this file: the one at a
        constant index, or (index None: iterating it) any of them, counting those appended later."""
        call = self._construction(container)
        if call is None:
            return UNKNOWN
        qualified = self.qualified_name(call.func) or ""
        members: list[ast.AST] = []
        if qualified.endswith(".Sequential"):
            if call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
                return UNKNOWN
            members = list(call.args)
        elif qualified.endswith(".ModuleDict"):
            argument = call.args[0] if len(call.args) == 1 and not call.keywords else None
            if isinstance(argument, ast.Dict) and None not in argument.keys:
                members = list(argument.values)
            elif isinstance(argument, ast.DictComp):
                members = [argument.value]
            elif call.args or call.keywords:
                return UNKNOWN
            stored = self._stored_items(container)
            if stored is None:
                return UNKNOWN
            members += stored
            index = None  # keys are not tracked: any member
        elif qualified.endswith(".ModuleList"):
            argument = call.args[0] if len(call.args) == 1 and not call.keywords else None
            if isinstance(argument, (ast.List, ast.Tuple)) and not any(isinstance(e, ast.Starred) for e in argument.elts):
                members = list(argument.elts)
            elif isinstance(argument, (ast.ListComp, ast.GeneratorExp)):
                if index is not None and isinstance(index, ast.Constant) and type(index.value) is int and index.value >= 0:
                    return self.value(argument.elt)
                members = [argument.elt]
            elif call.args or call.keywords:
                return UNKNOWN
        else:
            return UNKNOWN
        if index is not None:
            # Later appends do not move the submodules a non-negative index names.
            if isinstance(index, ast.Constant) and type(index.value) is int and 0 <= index.value < len(members):
                return self.value(members[index.value])
            return UNKNOWN
        added = self._appended(container)
        if added is None:
            return UNKNOWN
        values = [self.value(m) for m in members] + [self.value(a) for a in added]
        return join(values) if values else UNKNOWN

    def _construction(self, expr: ast.AST) -> ast.Call | None:
        """The one call that built what `expr` names (a local name, or `self.x` in a method), `= None`s aside."""
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            cls = self._self_class(expr.value)
            if cls is None:
                return None
            values = [v for v, _ in self.class_attribute(cls, expr.attr) if not _is_constant(v, None)]
        elif isinstance(expr, ast.Name):
            bindings = self.bindings_reaching(expr.id, expr) or []
            if any(b.kind not in ("assign", "ann") or b.path for b in bindings):
                return None
            values = [b.value for b in bindings if not _is_constant(b.value, None)]
        else:
            return None
        return values[0] if len(values) == 1 and isinstance(values[0], ast.Call) else None

    def _stored_items(self, container: ast.AST) -> list[ast.AST] | None:
        """What `container[key] = value` and `.update({...})` store into `container` (`self.x` in its class, or a
        name in its function); None when something is stored that cannot be followed."""
        stored: list[ast.AST] = []
        for statement in self.nodes(ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Subscript) and _same_reference(target.value, container) \
                        and self._same_owner(target.value, container):
                    stored.append(statement.value)
        for call in self.calls_to_method("update"):
            if not (_same_reference(call.func.value, container) and self._same_owner(call.func.value, container)):
                continue
            if len(call.args) == 1 and isinstance(call.args[0], ast.Dict) and None not in call.args[0].keys:
                stored.extend(call.args[0].values)
            else:
                return None
        return stored

    def _same_owner(self, reference: ast.AST, container: ast.AST) -> bool:
        """Two spellings of `self.x` (in one class) or of a local name (in one function) name the same thing."""
        if isinstance(container, ast.Attribute) and isinstance(container.value, ast.Name):
            return isinstance(reference, ast.Attribute) and isinstance(reference.value, ast.Name) and \
                self._self_class(reference.value) is self._self_class(container.value)
        return self.function(reference) is self.function(container)

    def _appended(self, container: ast.AST) -> list[ast.AST] | None:
        """What `.append(x)` / `.extend([...])` / `.insert(i, x)` add to `container` (`self.x` in its class, or a
        name in its function); None when something is added that cannot be followed."""
        added: list[ast.AST] = []
        for call in self.calls_to_method("append", "extend", "insert"):
            receiver = call.func.value
            if not _same_reference(receiver, container):
                continue
            if isinstance(container, ast.Attribute):
                if self._self_class(receiver.value) is not self._self_class(container.value):
                    continue
            elif self.function(call) is not self.function(container):
                continue
            method = call.func.attr
            if method == "append" and len(call.args) == 1:
                added.append(call.args[0])
            elif method == "insert" and len(call.args) == 2:
                added.append(call.args[1])
            elif method == "extend" and len(call.args) == 1 and isinstance(call.args[0], (ast.List, ast.Tuple)):
                added.extend(call.args[0].elts)
            elif method == "extend" and len(call.args) == 1 and isinstance(call.args[0], (ast.ListComp, ast.GeneratorExp)):
                added.append(call.args[0].elt)
            else:
                return None
        if any(isinstance(a, ast.Starred) for a in added):
            return None
        return added

    # --- additions for the GF3xx port --------------------------------------------------------------------
    def _module_list_element(self, qualified: str, call: ast.Call) -> Value | None:
        """For `nn.ModuleList([Layer(c) for _ in range(n)])`: what iterating or indexing it yields (a module of
        the one class it holds), so that `for layer in self.layers: layer(h)` is a call of `Layer`."""
        if qualified not in ("torch.nn.ModuleList", "torch.nn.modules.container.ModuleList") or not call.args:
            return None
        element = self.value(call.args[0]).element
        return element if element is not None and element.kind is Kind.MODULE else None


def _tests_has_attribute(test: ast.AST, target: ast.AST, attribute: str) -> bool:
    """`hasattr(target, "weight")`, or `getattr(target, "weight", None) is not None`."""
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.IsNot) \
            and _is_constant(test.comparators[0], None):
        test = test.left
    return isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.func.id in ("hasattr", "getattr") \
        and len(test.args) >= 2 and _same_reference(test.args[0], target) and _is_constant_str(test.args[1], attribute)
