"""One semantic model per file, built from CPython's `ast`: what each name and expression holds.

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
import enum
import re
from dataclasses import dataclass
from typing import Iterable, Iterator

# --- the lattice ---------------------------------------------------------------------------------------


class Kind(enum.Enum):
    TENSOR = "tensor"
    PARAMETER = "parameter"  # a torch.nn.Parameter (also a tensor)
    MODULE = "module"  # an nn.Module instance; Value.cls names its class when known
    OPTIMIZER = "optimizer"
    SCHEDULER = "scheduler"
    CONTAINER = "container"  # list, tuple, dict, set (Value.element: what iterating it yields, if known)
    OBJECT = "object"  # anything else we know is not a tensor: numbers, strings, None, a PyG Data, ...
    UNKNOWN = "unknown"


class Grad(enum.Enum):
    LEAF = "leaf"  # a leaf that requires grad, or a parameter
    CONNECTED = "connected"  # computed from something requiring grad, with autograd on
    CUT = "cut"  # the graph was cut: .detach(), .data, .item(), .numpy(), .tolist(), a re-wrap
    OFF = "off"  # computed where autograd is off (no_grad, inference_mode, autograd.Function.forward)
    DATA = "data"  # plain data: never required grad
    UNKNOWN = "unknown"


TENSOR_KINDS = frozenset({Kind.TENSOR, Kind.PARAMETER})
REQUIRES_GRAD = frozenset({Grad.LEAF, Grad.CONNECTED})


@dataclass(frozen=True)
class Value:
    kind: Kind
    grad: Grad = Grad.UNKNOWN
    cls: str | None = None  # qualified class of a module/object (`torch.nn.SiLU`, `<file>.Encoder`)
    origin: str | None = None  # what produced a tensor: `torch.softmax`, `Tensor.sigmoid`, `torch.nn.Sigmoid`
    cut: str | None = None  # for Grad.CUT: "detach", "data", "item", "numpy", "tolist", "rewrap"
    cut_node: ast.AST | None = None  # where the cut happened
    element: "Value | None" = None  # for containers: what iterating yields

    @property
    def is_tensor(self) -> bool:
        return self.kind in TENSOR_KINDS

    @property
    def requires_grad(self) -> bool:
        return self.grad in REQUIRES_GRAD


UNKNOWN = Value(Kind.UNKNOWN)
DATA_OBJECT = Value(Kind.OBJECT, Grad.DATA)
NONE = Value(Kind.OBJECT, Grad.DATA, origin="None")  # `None`: dropped from a join, as Optional[...] is


def join(values: Iterable[Value]) -> Value:
    """The value of an expression that may hold any of `values` (branches, several bindings)."""
    values = list(dict.fromkeys(values))
    if not values:
        return UNKNOWN
    if len(values) > 1 and NONE in values:
        # `self.optimizer = None` in __init__ and a real optimizer later: where the name is used as an optimizer
        # (or a tensor), it is not None, or the program would fail there first.
        values = [v for v in values if v != NONE]
    if len(values) == 1:
        return values[0]
    kinds = {v.kind for v in values}
    if kinds <= TENSOR_KINDS and len(kinds) == 2:
        kind = Kind.TENSOR
    elif len(kinds) == 1:
        kind = kinds.pop()
    else:
        return UNKNOWN
    grads = {v.grad for v in values}
    if len(grads) == 1:
        grad = grads.pop()
    elif grads <= REQUIRES_GRAD:
        grad = Grad.CONNECTED
    else:
        grad = Grad.UNKNOWN
    classes = {v.cls for v in values}
    origins = {v.origin for v in values}
    cuts = {v.cut for v in values}
    return Value(
        kind,
        grad,
        classes.pop() if len(classes) == 1 else None,
        origins.pop() if len(origins) == 1 else None,
        cuts.pop() if len(cuts) == 1 and grad is Grad.CUT else None,
    )


# --- torch knowledge (checked against torch 2.13; see shared/autograd_facts.py) ---------------------------

# Functions that create a fresh tensor from shapes or Python data: a leaf, requiring grad only when asked.
FACTORIES = frozenset(
    "tensor as_tensor zeros ones empty full rand randn randint randperm arange range linspace logspace eye "
    "normal zeros_like ones_like empty_like full_like rand_like randn_like randint_like from_numpy "
    "empty_strided bernoulli multinomial poisson tril_indices triu_indices".split()
)
# Calls whose result is data whatever they are given (they re-wrap values: a tensor argument's graph is cut).
REWRAPS = frozenset({"tensor", "from_numpy"})  # as_tensor and Tensor(t) keep the graph (torch 2.13)
# torch.* functions that do not return tensors.
_TORCH_NOT_TENSOR = frozenset(
    "is_tensor is_grad_enabled is_floating_point is_complex numel device dtype get_default_dtype manual_seed "
    "set_grad_enabled no_grad enable_grad inference_mode set_default_dtype set_printoptions save load compile "
    "Generator Size finfo iinfo typename is_inference_mode_enabled use_deterministic_algorithms seed "
    "initial_seed get_rng_state set_rng_state is_nonzero result_type promote_types can_cast".split()
)
# torch namespaces whose functions return tensors computed from their tensor arguments.
_TENSOR_NAMESPACES = ("torch.nn.functional.", "torch.linalg.", "torch.fft.", "torch.special.")
_TORCH_OTHER_NAMESPACES = re.compile(
    r"^torch\.(cuda|distributed|utils|jit|onnx|backends|autograd|hub|profiler|fx|export|testing|multiprocessing"
    r"|package|quantization|ao|amp|cpu|mps|xpu|library|overrides|compiler|sparse|nested|masked|distributions"
    r"|optim|nn)\b"
)
# Tensor methods that return something other than a tensor.
_NOT_TENSOR_METHODS = frozenset(
    "size dim numel nelement element_size stride data_ptr is_contiguous is_floating_point is_complex "
    "get_device storage_offset untyped_storage storage is_pinned is_shared is_set_to equal allclose "
    "__len__ tolist item numpy register_hook backward dim_order".split()
)
_NOT_TENSOR_ATTRIBUTES = frozenset(
    "shape dtype device is_cuda requires_grad ndim is_leaf grad_fn layout is_sparse is_quantized is_meta "
    "names itemsize nbytes".split()
)
_CONTAINER_METHODS = frozenset({"split", "chunk", "unbind", "tensor_split", "hsplit", "vsplit", "unflatten_dense_tensors"})
# Methods that return their receiver moved or converted (a new non-leaf when the receiver requires grad).
MOVERS = frozenset({"to", "cuda", "cpu", "double", "float", "half", "bfloat16", "type"})
# Module methods that return the module itself.
_MODULE_SELF_METHODS = MOVERS | {"train", "eval", "requires_grad_", "zero_grad", "apply", "share_memory", "to_empty"}
# nn modules without a `weight` parameter (so `m.weight` on one is not a parameter).
_NN_WITHOUT_WEIGHT = re.compile(
    r"^torch\.nn\.(ReLU|ReLU6|SiLU|GELU|Sigmoid|Tanh|Softmax|LogSoftmax|Dropout\w*|Identity|Flatten|Unflatten"
    r"|Sequential|ModuleList|ModuleDict|ParameterList|ParameterDict|\w*Pool\w*|Upsample\w*|LeakyReLU|ELU|SELU|CELU"
    r"|Hardtanh|Hardswish|Hardsigmoid|Mish|Softplus|Softsign|Tanhshrink|Threshold|GLU|PixelShuffle|PixelUnshuffle"
    r"|ZeroPad\w*|ConstantPad\w*|ReflectionPad\w*|ReplicationPad\w*|CosineSimilarity|PairwiseDistance"
    r"|\w*Loss)$"
)
_OPTIMIZER = re.compile(r"^torch\.optim\.(\w+\.)?[A-Z]\w*$")
_SCHEDULER = re.compile(r"^torch\.optim\.lr_scheduler\.[A-Z]\w*$")
_TENSOR_TYPES = frozenset({"torch.Tensor", "torch.FloatTensor", "torch.LongTensor", "torch.autograd.Variable"})
_PARAMETER_TYPES = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter"})
_MODULE_BASE = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module"}) | frozenset(
    # LightningModule subclasses nn.Module (added for the GF2xx port: `self(x)` in a training_step is a forward).
    {"pytorch_lightning.LightningModule", "lightning.LightningModule", "lightning.pytorch.LightningModule",
     "pytorch_lightning.core.LightningModule", "pytorch_lightning.core.module.LightningModule",
     "lightning.pytorch.core.LightningModule", "lightning.pytorch.core.module.LightningModule"}
)
_FUNCTION_BASE = frozenset({"torch.autograd.Function", "torch.autograd.function.Function"})
_OPTIMIZER_BASE = frozenset({"torch.optim.Optimizer", "torch.optim.optimizer.Optimizer"})
# Module containers that hold their submodules in order: indexing and iterating them yields those submodules.
_MODULE_SEQUENCES = frozenset({"torch.nn.Sequential", "torch.nn.ModuleList", "torch.nn.modules.container.Sequential",
                               "torch.nn.modules.container.ModuleList"})
_CONTAINER_TYPES = re.compile(
    r"^(typing\.)?(list|List|tuple|Tuple|dict|Dict|set|Set|frozenset|FrozenSet|Sequence|MutableSequence|Mapping"
    r"|MutableMapping|Iterable|Iterator|collections\.abc\.\w+|torch\.nn\.(ModuleList|ModuleDict|ParameterList"
    r"|ParameterDict))$"
)
_OPTIONAL = re.compile(r"^(typing\.)?(Optional|Union)$")
_BUILTIN_DATA = frozenset({"int", "float", "str", "bool", "bytes", "complex", "None"})


def is_optimizer_class(qualified: str | None) -> bool:
    return bool(qualified) and bool(_OPTIMIZER.match(qualified)) and "lr_scheduler" not in qualified


def is_module_class(qualified: str | None) -> bool:
    """A torch.nn module class (`torch.nn.Linear`), spelled through any public path."""
    return bool(qualified) and bool(re.match(r"^torch\.nn\.(modules\.\w+\.)?[A-Z]\w*$", qualified)) and (
        qualified not in _PARAMETER_TYPES
    )


# --- structure ---------------------------------------------------------------------------------------

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


class SemanticModel:
    """Everything the rules may ask about one file. Build it with `SemanticModel(tree, text)`."""

    def __init__(self, tree: ast.Module, text: str, path: str = "<stdin>"):
        self.tree = tree
        self.text = text
        self.path = path
        self._lines: list[str] | None = None
        self._by_type: dict[type, list[ast.AST]] = {}
        self._scope_of: dict[int, Scope] = {}  # id(scope-defining node) -> Scope
        self.module_scope = Scope(tree, None, {}, {})
        self._scope_of[id(tree)] = self.module_scope
        self._values: dict[int, Value] = {}
        self._in_progress: set[int] = set()
        self._class_attributes: dict[int, dict[str, list[tuple[ast.AST, ast.AST]]]] = {}
        self._returns: dict[int, Value] = {}
        self._methods_by_name: dict[str, list[ast.AST]] = {}
        self._keep_alive: list[ast.AST] = []
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
        for nodes in by_type.values():
            if len(nodes) > 1:
                nodes.sort(key=_start)
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
        if node.level or node.module is None:
            return  # relative imports name this project's modules, not torch's
        for alias in node.names:
            if alias.name == "*":
                continue
            bound = alias.asname or alias.name
            scope.imports[bound] = f"{node.module}.{alias.name}"
            self._add(scope, Binding(bound, "import", node, position=_end(node)))

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

    def calls_to_method(self, *names: str) -> Iterator[ast.Call]:
        """`x.NAME(...)` calls, for any of the method names."""
        wanted = set(names)
        for call in self._by_type.get(ast.Call, ()):
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr in wanted:
                yield call

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

        Only imported names resolve: a local variable that happens to be called `torch` does not.
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
        return None

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
        assigned = self.class_attribute(cls, expr.attr)
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
        return join(values)

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
            elements = [self.value(e) for e in expr.elts if not isinstance(e, ast.Starred)]
            element = join(elements) if elements else None
            return Value(Kind.CONTAINER, Grad.DATA, element=element if element and element.kind is not Kind.UNKNOWN else None)
        if isinstance(expr, (ast.Dict, ast.DictComp, ast.JoinedStr, ast.SetComp)):
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
            return UNKNOWN
        if not bindings:
            return UNKNOWN
        return join([self._binding_value(b, name) for b in bindings])

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
                return self._unpack_value(element, binding.value, binding.path)
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
        if container.element is not None and len(path) == 1:
            return container.element
        if container.origin == "named_parameters" and path == (1,):
            return Value(Kind.PARAMETER, Grad.LEAF)
        if container.origin == "named_parameters" and path == (0,):
            return DATA_OBJECT
        if container.origin == "enumerate" and path[:1] == (0,):
            return DATA_OBJECT
        if container.origin == "enumerate" and container.element is not None and path == (1,):
            return container.element
        if container.is_tensor and len(path) == 1:
            # Unpacking a tensor (`a, b = x.chunk(2)` gives a container; `a, b = x` rows of x)
            return Value(Kind.TENSOR, container.grad)
        return UNKNOWN

    def _iteration_value(self, iterable: ast.AST, iterated: Value) -> Value:
        if iterated.element is not None:
            return iterated.element
        if iterated.origin == "parameters":
            return Value(Kind.PARAMETER, Grad.LEAF)
        if iterated.origin in ("named_parameters", "enumerate", "zip", "items"):
            return Value(Kind.CONTAINER, Grad.DATA, origin=iterated.origin, element=iterated.element)
        if iterated.origin == "modules":
            return Value(Kind.MODULE, Grad.DATA)
        if iterated.origin == "param_groups":
            return Value(Kind.CONTAINER, Grad.DATA, origin="param_group")  # a dict: params, lr, ...
        if iterated.kind is Kind.MODULE and iterated.cls in _MODULE_SEQUENCES:
            return self._module_element(iterable, None)
        if iterated.is_tensor:
            return Value(Kind.TENSOR, iterated.grad)
        if iterated.origin == "range":
            return DATA_OBJECT
        return UNKNOWN

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
        return UNKNOWN

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
            if isinstance(ancestor, _SCOPES):
                return None
            if isinstance(ancestor, (ast.If, ast.IfExp)) and _in_body(ancestor, child):
                found = self._isinstance_classes(ancestor.test, target)
                if found is not None:
                    return found
            child = ancestor
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
        qualified = self.qualified_name(expr)
        if qualified is not None:
            return Value(Kind.OBJECT, Grad.DATA, origin=qualified)  # a module attribute such as torch.float32
        owner = self.dereferenced_value(expr.value)
        attr = expr.attr
        if owner.kind in (Kind.MODULE, Kind.OBJECT) and (owner.cls or "").startswith("<local>."):
            found = self._instance_attribute(owner.cls, attr)  # `self.flava.logit_scale`, FlavaModel of this file
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
            if attr in ("weight", "bias") and owner.cls and is_module_class(owner.cls):
                if _NN_WITHOUT_WEIGHT.match(owner.cls):
                    return UNKNOWN
                return Value(Kind.PARAMETER, Grad.LEAF)
            if attr in ("weight", "bias") and owner.cls is None and self._narrowed_to_weighted_layers(expr.value):
                return Value(Kind.PARAMETER, Grad.LEAF)
            if attr == "training":
                return DATA_OBJECT
            return UNKNOWN
        if owner.kind is Kind.OPTIMIZER and attr == "param_groups":
            return Value(Kind.CONTAINER, Grad.DATA, origin="param_groups")
        return UNKNOWN

    def _subscript(self, expr: ast.Subscript) -> Value:
        owner = self.value(expr.value)
        if owner.kind is Kind.MODULE and owner.cls in _MODULE_SEQUENCES:
            if isinstance(expr.slice, ast.Slice):
                return owner  # a slice of a Sequential/ModuleList is one of the same class
            element = self._module_element(expr.value, expr.slice)
            if element.kind is not Kind.UNKNOWN or owner.element is None:
                return element
            return owner.element
        if owner.kind is Kind.CONTAINER and owner.origin == "param_group" and _is_constant_str(expr.slice, "params"):
            return Value(Kind.CONTAINER, Grad.DATA, origin="params", element=Value(Kind.TENSOR, Grad.LEAF))
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
        if name in ("list", "tuple", "sorted", "reversed"):
            inner = self.value(call.args[0]) if call.args else None
            element = inner.element if inner is not None else None
            if inner is not None and element is None and inner.origin == "parameters":
                element = Value(Kind.PARAMETER, Grad.LEAF)
            return Value(Kind.CONTAINER, Grad.DATA, element=element, origin=inner.origin if inner else None)
        if name in ("dict", "set", "frozenset"):
            return Value(Kind.CONTAINER, Grad.DATA)
        if name == "range":
            return Value(Kind.CONTAINER, Grad.DATA, origin="range", element=DATA_OBJECT)
        if name == "enumerate":
            inner = self.value(call.args[0]) if call.args else UNKNOWN
            element = inner.element or (Value(Kind.PARAMETER, Grad.LEAF) if inner.origin == "parameters" else None)
            return Value(Kind.CONTAINER, Grad.DATA, origin="enumerate", element=element)
        if name == "zip":
            return Value(Kind.CONTAINER, Grad.DATA, origin="zip")
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
        if qualified.startswith("torch.nn.init."):
            return Value(Kind.TENSOR, Grad.LEAF if qualified.endswith("_") else Grad.UNKNOWN)
        if qualified.startswith("numpy.") or qualified.startswith("math.") or qualified.startswith("os.") or \
                qualified.startswith("random.") or qualified.startswith("time."):
            return DATA_OBJECT
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
            if method in ("parameters",):
                return Value(Kind.CONTAINER, Grad.DATA, origin="parameters")
            if method == "named_parameters":
                return Value(Kind.CONTAINER, Grad.DATA, origin="named_parameters")
            if method in ("modules", "children"):
                return Value(Kind.CONTAINER, Grad.DATA, origin="modules")
            if method in _MODULE_SELF_METHODS:
                return owner
            if method == "forward":
                return self._module_call(owner, call)
            if method in ("state_dict", "named_modules", "named_children", "buffers", "named_buffers"):
                return Value(Kind.CONTAINER, Grad.DATA, origin=method)
            return UNKNOWN
        if method in ("parameters",) and not call.args:
            # `.parameters()` is nn.Module's; on an object we cannot see, it still yields parameters
            # (the one other common `parameters` is a method of this file's own classes, found above).
            return Value(Kind.CONTAINER, Grad.DATA, origin="parameters")
        if method == "named_parameters" and owner.kind in (Kind.UNKNOWN, Kind.MODULE):
            return Value(Kind.CONTAINER, Grad.DATA, origin="named_parameters")
        if owner.kind is Kind.CONTAINER:
            if method == "items":
                return Value(Kind.CONTAINER, Grad.DATA, origin="items")
            if method in ("values",) and owner.element is not None:
                return Value(Kind.CONTAINER, Grad.DATA, element=owner.element)
            if method in ("pop", "get") and owner.element is not None:
                return owner.element
            return UNKNOWN
        return UNKNOWN

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
        if method in MOVERS or method in ("clone", "contiguous", "view", "reshape", "view_as", "reshape_as", "expand",
                                          "expand_as", "flatten", "squeeze", "unsqueeze", "permute", "transpose", "t"):
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
        return Value(Kind.TENSOR, Grad.CONNECTED if module.cls and is_module_class(module.cls) else Grad.UNKNOWN,
                     origin=module.cls)

    def returns(self, function: ast.AST) -> Value:
        """What a function of this file returns (the join of its `return` values; parameters unknown)."""
        key = id(function)
        if key in self._returns:
            return self._returns[key]
        self._returns[key] = UNKNOWN  # recursion guard
        if isinstance(function, ast.Lambda):
            result = self.value(function.body)
        else:
            values = [
                self.value(r.value) if r.value is not None else DATA_OBJECT
                for r in self.nodes(ast.Return)
                if self.function(r) is function
            ]
            if any(isinstance(n, (ast.Yield, ast.YieldFrom)) and self.function(n) is function
                   for n in self.nodes(ast.Yield) + self.nodes(ast.YieldFrom)):
                values = [Value(Kind.CONTAINER, Grad.DATA)]
            result = join(values) if values else DATA_OBJECT
        self._returns[key] = result
        return result

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
            if not (len(call.args) >= 2 and _is_constant_str(call.args[0], expr.attr) and isinstance(receiver, ast.Name)
                    and self._self_class(receiver) is cls):
                continue
            if _is_constant(call.args[1], None):
                values.append(DATA_OBJECT)  # an optional buffer left empty
                continue
            is_parameter = call.func.attr == "register_parameter"
            values.append(Value(Kind.PARAMETER if is_parameter else Kind.TENSOR,
                                Grad.LEAF if is_parameter else self.value(call.args[1]).grad))
        return join(values) if values else None

    def _instance_attribute(self, cls_name: str, attribute: str) -> Value | None:
        """`obj.x` where obj is an instance of a class of this file: the join of what its methods assign to
        `self.x`; None when the class (one of that name) assigns nothing to it."""
        classes = [c for c in self.nodes(ast.ClassDef) if c.name == cls_name.split(".", 1)[1]]
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

    def _narrowed_to_weighted_layers(self, expr: ast.AST) -> bool:
        """`m` under `isinstance(m, (nn.Linear, nn.Conv2d))`: every class it may be has a `weight` parameter."""
        classes = self._narrowing_classes(expr) if isinstance(expr, (ast.Name, ast.Attribute)) else None
        if not classes:
            return False
        names = [self.qualified_name(c) for c in classes]
        return all(is_module_class(n) and not _NN_WITHOUT_WEIGHT.match(n) for n in names)

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


# --- small helpers ------------------------------------------------------------------------------------

def dotted(expr: ast.AST) -> str | None:
    """`a.b.c` for a Name/Attribute chain (how two mentions of one receiver are matched), else None."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


def _start(node: ast.AST) -> tuple[int, int]:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def _end(node: ast.AST) -> tuple[int, int]:
    return (getattr(node, "end_lineno", 0) or 0, getattr(node, "end_col_offset", 0) or 0)


def _is_static(function: ast.AST) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in getattr(function, "decorator_list", ()))


def _field_of(container: ast.AST | None, child: ast.AST) -> str | None:
    if container is None:
        return None
    for name, value in ast.iter_fields(container):
        if value is child or (isinstance(value, list) and any(v is child for v in value)):
            return name
    return None


def _in_body(conditional: ast.AST, child: ast.AST) -> bool:
    body = conditional.body
    return child is body or (isinstance(body, list) and any(s is child for s in body))


def _is_constant(node: ast.AST | None, value) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _keyword_true(call: ast.Call, name: str) -> bool:
    return _is_constant(_keyword(call, name), True)


def keyword(call: ast.Call, name: str) -> ast.AST | None:
    """The value passed as `name=` to `call`, or None."""
    return _keyword(call, name)


def is_true(node: ast.AST | None) -> bool:
    return _is_constant(node, True)


def is_false(node: ast.AST | None) -> bool:
    return _is_constant(node, False)


def _combine_grads(values: Iterable[Value]) -> Grad:
    """The autograd state of something computed from `values` with autograd on."""
    grads = [v.grad for v in values]
    if any(g in REQUIRES_GRAD for g in grads):
        return Grad.CONNECTED
    if not grads:
        return Grad.UNKNOWN
    if any(g is Grad.UNKNOWN for g in grads):
        return Grad.UNKNOWN
    if any(g is Grad.CUT for g in grads):
        return Grad.CUT
    if all(g is Grad.OFF for g in grads):
        return Grad.OFF
    return Grad.DATA


def _same_reference(a: ast.AST, b: ast.AST) -> bool:
    """`a` and `b` spell the same name or attribute chain (`m`, `self.p`)."""
    if isinstance(a, ast.Name) and isinstance(b, ast.Name):
        return a.id == b.id
    if isinstance(a, ast.Attribute) and isinstance(b, ast.Attribute):
        return a.attr == b.attr and _same_reference(a.value, b.value)
    return False


def _is_constant_str(node: ast.AST, text: str) -> bool:
    return isinstance(node, ast.Constant) and node.value == text
