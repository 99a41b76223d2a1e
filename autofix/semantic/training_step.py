"""The training-step model: what a function (or a script) does in a training step, in execution order, and
what each optimizer holds, which backward() reaches it and which zero_grad() clears it.

Every ordering rule (GF4xx, GF603, GF606, ...) asks this model instead of reading one block's statements in
order. It answers per optimizer, because a loop with two optimizers (a GAN, actor-critic, two losses) is two
interleaved training steps, and a statement of one of them says nothing about the other.

What it records, built once per function on the first question (`TrainingSteps.of(model)`):

- `events(function)`: forward calls (and the module each runs), backward() calls (`loss.backward()`,
  `scaler.scale(loss).backward()`, `self.manual_backward(loss)`, `accelerator.backward(loss)`), optimizer
  steps (`opt.step()`, `scaler.step(opt)`), `zero_grad()` calls, `scaler.unscale_`, scheduler steps, clipping,
  and `train()`/`eval()` switches, in source order, each with the loops around it;
- `parameters(optimizer)`: the modules whose parameters an optimizer holds, from its construction
  (`netG.parameters()`, param groups, `chain(...)`, `list(a.parameters()) + list(b.parameters())`,
  `filter(lambda p: p.requires_grad, ...)`, comprehensions over them); None when the file does not show it;
- `reach(loss)`: the modules whose parameters a loss may (and must) reach: through forward calls, stopped
  by `.detach()`, `.data`, `.item()`, re-wraps and `no_grad` blocks;
- `trace_back(statement, optimizer)`: walking back from a statement in execution order within the
  iteration (or function), the first thing that matters to the optimizer: a backward() that may reach its
  parameters, a zero_grad() that clears all of them, or the start of the iteration;
- `mode_at(call)`: whether the module a call runs is in train() or eval() mode there, when the file says.

Modules are named by their canonical dotted name ("netG", "self.actor", "model.fc"): a name bound to another
name or attribute (`model = self.model`) stands for what it names. Two names are the same module only when
one is a prefix of the other ("model" holds "model.fc"), or one was constructed from the other
(`gan = GAN(G, D)` holds G and D). docs/semantic-model.md walks through a GAN.

Precision first: every claim a rule makes from this model ("no backward that reaches optG's parameters ran
since its zero_grad()") must hold on every path. Where the file does not say (an optimizer passed in, a loss
made by a helper of this file), the answer is "unknown" and the rules stay silent, except where the claim
holds whatever the value is (nothing backpropagated through `f(out.detach(), y)` reaches the model via `out`).
"""
from __future__ import annotations

import ast
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from autofix.semantic.lattice import Grad, Kind
from autofix.semantic.syntax import dotted
from autofix.semantic.syntax import own_nodes as _own_nodes
from autofix.semantic.torch_knowledge import is_module_class

Owners = frozenset  # of canonical module names

_CUTS = frozenset({"detach", "detach_", "item", "numpy", "tolist", "size", "dim", "numel", "nelement",
                   "data_ptr", "argmax", "argmin", "long", "int", "bool", "byte", "char", "short"})
_CUT_ATTRIBUTES = frozenset({"data", "shape", "dtype", "device", "grad", "requires_grad", "ndim", "is_cuda"})
_PURE_ROOTS = ("torch", "numpy", "math", "builtins", "operator", "functools", "itertools", "einops", "random", "os",
               "sys", "time", "json", "pathlib", "collections", "argparse", "logging")
# Tensor methods whose arguments are shapes, dims, devices or dtypes: the result reaches what the receiver reaches.
_SHAPE_METHODS = frozenset({"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "type", "view", "reshape",
                            "permute", "transpose", "expand", "repeat", "squeeze", "unsqueeze", "flatten",
                            "contiguous", "sum", "mean", "norm", "std", "var", "prod", "view_as", "reshape_as",
                            "expand_as", "t", "abs", "exp", "log", "sqrt", "softmax", "log_softmax", "sigmoid",
                            "tanh", "relu", "neg", "chunk", "split", "narrow", "select", "gather", "index_select",
                            "logsumexp", "cumsum", "flip", "roll"})
_BUILTINS = frozenset({"sum", "min", "max", "abs", "float", "int", "len", "list", "tuple", "sorted", "reversed",
                       "zip", "enumerate", "map", "filter", "round", "pow", "dict", "set", "iter", "next", "any",
                       "all", "str", "print", "isinstance", "range", "bool"})
_PYTHON_VALUES = frozenset({"int", "float", "len", "str", "bool", "round", "isinstance", "range", "print", "repr",
                            "hash", "id", "type", "format"})
# Methods that put their arguments into the receiver (a container), besides in-place tensor methods (`add_`).
_MUTATORS = frozenset({"append", "extend", "insert", "update", "add", "setdefault", "appendleft", "put"})
_PARAMETER_WALKS = frozenset({"parameters", "named_parameters"})
_SEQUENCE_CALLS = frozenset({"list", "tuple", "set", "sorted", "chain", "itertools.chain", "filter", "iter"})
_MOVERS_AND_SWITCHES = frozenset({"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "type", "requires_grad_",
                                  "share_memory", "train", "eval", "to_empty"})
# Methods of a module that leave its mode alone.
_MODE_NEUTRAL = frozenset({"parameters", "named_parameters", "buffers", "named_buffers", "modules", "named_modules",
                           "children", "named_children", "state_dict", "load_state_dict", "zero_grad", "to", "cuda",
                           "cpu", "float", "double", "half", "bfloat16", "forward", "requires_grad_", "register_buffer",
                           "register_parameter", "add_module", "register_forward_hook", "register_forward_pre_hook",
                           "size", "numel", "item", "detach", "type", "get_submodule", "extra_repr"})
_CLIPS = frozenset({"clip_grad_norm_", "clip_grad_value_", "clip_grad_norm"})
_TERMINATORS = (ast.Continue, ast.Break, ast.Return, ast.Raise)
_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_MAX_DEPTH = 60


def overlaps(a: str, b: str) -> bool:
    """Two module names that may share parameters: the same module, or one holds the other."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def covers(outer: str, inner: str) -> bool:
    """Every parameter of `inner` is a parameter of `outer`."""
    return inner == outer or inner.startswith(outer + ".")


@dataclass(frozen=True)
class Reach:
    """The modules whose parameters a tensor's graph reaches. `may`: it may reach them (an over-approximation);
    `must`: it reaches them on every path; `unknown`: it may also reach modules the file does not show."""

    must: frozenset = frozenset()
    may: frozenset = frozenset()
    unknown: bool = False

    def union(self, other: Reach) -> Reach:
        return Reach(self.must | other.must, self.may | other.may, self.unknown or other.unknown)

    def may_reach(self, owners: frozenset | None) -> bool:
        """May a backward() of this reach put gradients on any of `owners` (None: parameters not known)?"""
        if owners is None:
            return self.unknown or bool(self.may)
        return self.unknown or any(overlaps(a, b) for a in self.may for b in owners)

    def must_reach(self, owners: frozenset | None) -> bool:
        """Does a backward() of this reach put gradients on some of `owners`, on every path?"""
        return owners is not None and any(covers(b, a) or covers(a, b) for a in self.must for b in owners)


NOTHING = Reach()
ANYTHING = Reach(unknown=True)


def _alternatives(reaches: list[Reach]) -> Reach:
    """The reach of a name that may hold any of several values (its bindings)."""
    if not reaches:
        return ANYTHING
    must = frozenset.intersection(*(r.must for r in reaches))
    return Reach(must, frozenset().union(*(r.may for r in reaches)), any(r.unknown for r in reaches))


@dataclass(frozen=True)
class Event:
    """One thing a training step does. `kind`: forward, backward, step, zero_grad, unscale, scheduler_step,
    clip, train, eval. `target`: the optimizer (step, zero_grad on an optimizer, unscale), the module (forward,
    zero_grad on a module, train/eval) or the loss (backward), as an expression. `loops`: the loops around it
    within its function, innermost first; `accumulating`: under an `if` whose test takes a modulo (`% k`)."""

    kind: str
    statement: ast.stmt
    call: ast.Call
    target: ast.expr | None
    loops: tuple[ast.AST, ...]
    accumulating: bool


@dataclass(frozen=True)
class Trace:
    """What `trace_back` found: "backward" (a backward() that may reach the optimizer's parameters, at
    `statement`), "cleared" (a zero_grad() that clears all of them, at `statement`), "start" (the start of the
    iteration, or of the function, at `statement`: the loop or function) or "unknown" (control flow the model
    does not follow)."""

    kind: str
    statement: ast.AST | None


class TrainingSteps:
    """The training-step model of one file, built on its `SemanticModel` once, answered on demand."""

    _of: ClassVar[weakref.WeakKeyDictionary] = weakref.WeakKeyDictionary()

    def __init__(self, model):
        self._model = weakref.ref(model)  # the model keys `_of`: a strong reference would keep it alive
        self._reach: dict[int, Reach] = {}
        self._parameters: dict[tuple, frozenset | None] = {}
        self._events: dict[int, list[Event]] = {}
        self._summaries: dict[tuple, tuple | None] = {}
        self._use_evidence: dict[int, tuple[set[str], set[str], set[str]]] = {}
        self._backward_helpers: dict[int, bool] = {}
        self._stepping_loops: dict[int, bool] = {}
        self._stored_attributes: dict[int, set[str]] = {}
        self._mutated: dict[int, dict[str, tuple[bool, list[ast.AST]]]] = {}
        self._switching: dict[int, bool] = {}
        self._exit_depth = 0
        self._depth = 0

    @classmethod
    def of(cls, model) -> TrainingSteps:
        found = cls._of.get(model)
        if found is None:
            found = cls._of[model] = cls(model)
        return found

    @property
    def model(self):
        return self._model()

    # --- what a statement does -----------------------------------------------------------------------

    def backward_losses(self, statement: ast.stmt) -> list[ast.expr]:
        """What a simple statement runs backward() through: each backward call's loss (and, for a call with an
        argument, the argument too: `accelerator.backward(loss)` and `loss.backward(gradient)` look alike, and
        the receiver of an accelerator reaches nothing)."""
        if _is_compound(statement):
            return []
        found = []
        for node in _own_nodes(statement):
            if isinstance(node, ast.Call):
                found.extend(self._backward_operands(node))
        return found

    def backward_loss(self, call: ast.Call) -> ast.expr | None:
        """The loss of a backward call: `loss.backward()`, `scaler.scale(loss).backward()`,
        `self.manual_backward(loss)`, `accelerator.backward(loss)`, `torch.autograd.backward(loss)`."""
        operands = self._backward_operands(call)
        if not operands:
            return None
        func = call.func
        if func.attr == "backward" and call.args and self.model.value(func.value).kind not in (
                Kind.TENSOR, Kind.PARAMETER) and self.model.qualified_name(func) != "torch.autograd.backward":
            return call.args[0]  # `accelerator.backward(loss)`
        return operands[0]

    def _backward_operands(self, call: ast.Call) -> list[ast.expr]:
        func = call.func
        if not isinstance(func, ast.Attribute):
            return []
        if func.attr == "manual_backward":
            return call.args[:1]
        if func.attr != "backward":
            return []
        if self.model.qualified_name(func) == "torch.autograd.backward":
            return call.args[:1]
        receiver = func.value
        scaled = isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute)
        if scaled and receiver.func.attr == "scale" and len(receiver.args) == 1:
            receiver = receiver.args[0]  # `scaler.scale(loss).backward()`
        if call.args and not isinstance(call.args[0], ast.Starred):
            return [receiver, call.args[0]]
        return [receiver]

    def backward_reach(self, statement: ast.stmt) -> Reach | None:
        """The union of the reaches of what a simple statement backpropagates, None when it runs no backward()."""
        losses = self.backward_losses(statement)
        if not losses:
            return None
        reach = NOTHING
        for loss in losses:
            reach = reach.union(self.reach(loss))
        return reach

    def stepped_optimizer(self, statement: ast.stmt) -> ast.expr | None:
        """The optimizer a statement steps: `opt.step()`, `scaler.step(opt)`, else None (a closure step or a
        receiver that is no optimizer: a scheduler, a profiler)."""
        call = _single_call(statement)
        if call is None or not isinstance(call.func, ast.Attribute) or call.func.attr != "step" or call.keywords:
            return None
        if not call.args and self.is_optimizer(call.func.value):
            return call.func.value
        if len(call.args) == 1 and not isinstance(call.args[0], ast.Starred) and self.is_optimizer(call.args[0]):
            return call.args[0]
        return None

    def is_optimizer(self, expr: ast.AST) -> bool:
        """The model says so, or it cannot tell and the same function (or class, for `self.x`) both clears it
        (`X.zero_grad()`) and steps it (`X.step()`, `scaler.step(X)`): the shape of an optimizer."""
        kind = self.model.value(expr).kind
        if kind is Kind.OPTIMIZER:
            return True
        if kind is not Kind.UNKNOWN:
            return False
        name = dotted(expr)
        if name is None:
            return False
        zeroed, stepped, _ = self._evidence(expr, name)
        return name in zeroed and name in stepped

    def _evidence(self, node: ast.AST, name: str) -> tuple[set[str], set[str], set[str]]:
        """(names cleared with zero_grad(), names stepped, names called) in the scope where `name` counts."""
        scope = self._evidence_scope(node, name)
        found = self._use_evidence.get(id(scope))
        if found is None:
            zeroed: set[str] = set()
            stepped: set[str] = set()
            called: set[str] = set()
            for call in (n for n in ast.walk(scope) if isinstance(n, ast.Call)):
                if (key := dotted(call.func)) is not None:
                    called.add(key)
                if not isinstance(call.func, ast.Attribute):
                    continue
                if call.func.attr == "zero_grad" and (key := dotted(call.func.value)):
                    zeroed.add(key)
                elif call.func.attr == "step" and not call.keywords:
                    target = call.args[0] if len(call.args) == 1 else call.func.value if not call.args else None
                    if target is not None and (key := dotted(target)):
                        stepped.add(key)
            found = self._use_evidence[id(scope)] = (zeroed, stepped, called)
        return found

    def _evidence_scope(self, node: ast.AST, name: str) -> ast.AST:
        function = self.model.function(node)
        if name.startswith("self.") and isinstance(function, _FUNCTIONS):
            cls = self.model.enclosing_class(function)
            if cls is not None:
                return cls
        return function if function is not None else self.model.tree

    def cleared_owners(self, statement: ast.stmt) -> tuple[str | None, frozenset | None] | None:
        """For `X.zero_grad(...)`: (X's name if X is an optimizer, the modules whose gradients it clears, None
        when not known); None for any other statement."""
        call = _single_call(statement)
        if call is None or not isinstance(call.func, ast.Attribute) or call.func.attr != "zero_grad":
            return None
        receiver = call.func.value
        if self.is_optimizer(receiver):
            return dotted(receiver), self.parameters(receiver)
        if self.model.value(receiver).kind is Kind.MODULE or self._called_as_module(receiver):
            owner = self.canonical(receiver)
            return None, frozenset({owner}) if owner else None
        return None, None

    def clears_some(self, statement: ast.stmt, optimizer: ast.expr) -> bool | None:
        """Does `X.zero_grad()` clear gradients `optimizer` holds? True for the optimizer itself, and for a module
        or optimizer whose parameters overlap its own; False when both are known and disjoint (a GAN's
        `netD.zero_grad()` before the generator's step); None when not known (or not a zero_grad())."""
        cleared = self.cleared_owners(statement)
        if cleared is None:
            return False
        name, modules = cleared
        if name is not None and name == dotted(optimizer):
            return True
        owners = self.parameters(optimizer)
        if modules is None or owners is None:
            return None
        return any(overlaps(m, o) for m in modules for o in owners)

    def _called_as_module(self, receiver: ast.AST) -> bool:
        """The receiver is itself called (`netD(x)`) in its function (or class, for `self.x`)."""
        name = dotted(receiver)
        return name is not None and name in self._evidence(receiver, name)[2]

    # --- what an optimizer holds ---------------------------------------------------------------------

    def parameters(self, optimizer: ast.AST) -> frozenset | None:
        """The modules whose parameters `optimizer` holds, from its construction(s); None when not shown."""
        name = dotted(optimizer)
        cache_key: tuple = (id(self._evidence_scope(optimizer, name or "")), name)
        if isinstance(optimizer, ast.Name):  # a name rebound to another optimizer holds what reaches this use
            bindings = self.model.bindings_reaching(optimizer.id, optimizer) or []
            cache_key += tuple(id(b.node) for b in bindings)
        if cache_key in self._parameters:
            return self._parameters[cache_key]
        self._parameters[cache_key] = None  # a cycle gives unknown
        result = self._parameters_uncached(optimizer)
        self._parameters[cache_key] = result
        return result

    def _parameters_uncached(self, optimizer: ast.AST) -> frozenset | None:
        constructions = self._constructions(optimizer)
        if not constructions:
            return None
        owners: set[str] = set()
        use_function = self.model.function(optimizer)
        for call in constructions:
            if self.model.value(call).kind is not Kind.OPTIMIZER:
                return None
            params = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "params"), None)
            if params is None or isinstance(params, ast.Starred):
                return None
            found = self._parameter_owners(params, 0)
            if found is None:
                return None
            for owner in found:
                portable = self._portable(owner, call, use_function)
                if portable is None:
                    return None
                owners.add(portable)
        return frozenset(owners)

    def _constructions(self, expr: ast.AST) -> list[ast.AST] | None:
        """The expressions an optimizer name was assigned: the bindings of a name, or every `self.x = ...` of the
        class for `self.x`. None when one of them is not a plain assignment."""
        if isinstance(expr, ast.Name):
            bindings = self.model.bindings_reaching(expr.id, expr)
            if not bindings or any(b.kind not in ("assign", "ann") or b.value is None or b.path for b in bindings):
                return None
            values = [b.value for b in bindings]
        elif isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
            function = self.model.function(expr)
            cls = self.model.enclosing_class(function) if function is not None else None
            if cls is None:
                return None
            assigned = self.model.class_attribute(cls, expr.attr)
            if not assigned or any(v is None for v, _ in assigned):
                return None
            values = [v for v, _ in assigned]
        else:
            return None
        resolved = []
        for value in values:
            if isinstance(value, (ast.Name, ast.Attribute)) and value is not expr:
                inner = self._constructions(value)  # `self.opt = opt`
                if inner is None:
                    return None
                resolved.extend(inner)
            elif isinstance(value, ast.Call):
                resolved.append(value)
            else:
                return None
        return resolved

    def _parameter_owners(self, expr: ast.AST, depth: int) -> frozenset | None:
        """The modules whose parameters an optimizer's `params` argument holds (an over-approximation: a filter
        keeps a subset), or None."""
        if depth > 12:
            return None
        model = self.model
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Attribute) and func.attr in _PARAMETER_WALKS:
                if self.model.value(func.value).kind in (Kind.MODULE, Kind.UNKNOWN):
                    owner = self.canonical(func.value)
                    return frozenset({owner}) if owner else None
                return None
            name = model.qualified_name(func) or (func.id if isinstance(func, ast.Name) else None)
            if name in _SEQUENCE_CALLS or (name or "").endswith("itertools.chain"):
                parts = [a for a in expr.args if not isinstance(a, ast.Lambda)]
                if name == "filter" and len(expr.args) == 2:
                    parts = [expr.args[1]]
                return self._union_owners(parts, depth)
            return None
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return self._union_owners([expr.left, expr.right], depth)
        if isinstance(expr, (ast.List, ast.Tuple)):
            return self._union_owners(expr.elts, depth)
        if isinstance(expr, ast.Starred):
            return self._parameter_owners(expr.value, depth + 1)
        if isinstance(expr, ast.Dict):  # a param group
            groups = [v for k, v in zip(expr.keys, expr.values) if isinstance(k, ast.Constant) and k.value == "params"]
            return self._union_owners(groups, depth) if len(groups) == 1 else None
        if isinstance(expr, (ast.ListComp, ast.GeneratorExp)) and len(expr.generators) == 1:
            generator = expr.generators[0]
            bound = {n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)}
            if isinstance(expr.elt, ast.Name) and expr.elt.id in bound:
                return self._parameter_owners(generator.iter, depth + 1)
            return None
        if isinstance(expr, ast.Name):
            bindings = model.bindings_reaching(expr.id, expr)
            if not bindings or any(b.kind not in ("assign", "ann") or b.value is None or b.path for b in bindings):
                return None
            if self._grown(expr):
                return None
            return self._union_owners([b.value for b in bindings], depth)
        return None

    def _union_owners(self, parts, depth: int) -> frozenset | None:
        owners: set[str] = set()
        for part in parts:
            found = self._parameter_owners(part, depth + 1)
            if found is None:
                return None
            owners |= found
        return frozenset(owners)

    def _grown(self, name: ast.Name) -> bool:
        """A list the function appends to or extends (`params += ...`, `params.append(...)`)."""
        function = self.model.function(name) or self.model.tree
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("append", "extend", "insert", "add", "update") \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == name.id:
                return True
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == name.id:
                return True
        return False

    def _portable(self, owner: str, construction: ast.AST, use_function) -> str | None:
        """`owner` named in the function that built the optimizer, as seen where the optimizer is used: the same
        name in the same function, `self.x` anywhere in the class, a module-level name; a local of `__init__`
        stored on `self` (`self.G = G`) becomes `self.G`. None when it cannot be named at the use."""
        built_in = self.model.function(construction)
        root = owner.split(".", 1)[0]
        if built_in is use_function or root == "self":
            return owner
        if built_in is None:  # built at module level: a global, visible everywhere it is not shadowed
            return owner
        scope = self.model.scope_of_definition(built_in)
        if scope is not None and root not in scope.bindings:
            return owner  # a global or closure name
        stored = sorted(self._stores_of(built_in, root))
        if stored:  # `self.G = G` (and `self.netG = G`: one module under two names, named by the first)
            return stored[0] + owner[len(root):]
        return None

    def _stores_of(self, function: ast.AST, name: str) -> set[str]:
        """The `self.x` attributes a function assigns the bare name `name` to (`self.G = G`, `self.G, self.D = G,
        D`)."""
        found: set[str] = set()
        for node in ast.walk(function):
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                pairs = zip(target.elts, node.value.elts) if isinstance(target, ast.Tuple) and isinstance(
                    node.value, ast.Tuple) and len(target.elts) == len(node.value.elts) else [(target, node.value)]
                for left, right in pairs:
                    if isinstance(right, ast.Name) and right.id == name and (key := dotted(left)) \
                            and key.startswith("self.") and key.count(".") == 1:
                        found.add(key)
        return found

    def _assigned_attribute(self, expr: ast.Attribute) -> bool:
        """`self.x` is an attribute the class assigns in its methods (not one of its methods)."""
        function = self.model.function(expr)
        cls = self.model.enclosing_class(function) if function is not None else None
        if cls is None or any(isinstance(s, _FUNCTIONS) and s.name == expr.attr for s in cls.body):
            return False
        stored = self._stored_attributes.get(id(cls))
        if stored is None:  # every `self.x = ...` of the class, tuple targets included
            stored = self._stored_attributes[id(cls)] = {
                n.attr for n in ast.walk(cls) if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store)
                and isinstance(n.value, ast.Name) and n.value.id == "self"}
        if expr.attr not in stored:
            return False
        # A bound method or a function of this file stored on self (`self.loss_fn = self.model.loss`, a lambda)
        # may use any module it can see: only objects passed in or constructed count.
        for value, _ in self.model.class_attribute(cls, expr.attr):
            if value is None or isinstance(value, ast.Lambda):
                return False
            if isinstance(value, (ast.Name, ast.Attribute)) and self.model.local_function(value) is not None:
                return False
            if isinstance(value, ast.Attribute) and self.model.value(value).kind is not Kind.MODULE:
                return False  # `self.model.loss`, `trainer.step`: a bound method
        return True

    def _self_alias(self, expr: ast.Attribute) -> str | None:
        """For `self.x` in a method: the one name of the module it holds, when the class assigns it once from
        another attribute (`self.G = self.netG`) or from an argument it also stores elsewhere (`self.G = G;
        self.netG = G`: both are named by the first in sorted order)."""
        function = self.model.function(expr)
        cls = self.model.enclosing_class(function) if function is not None else None
        if cls is None:
            return None
        assigned = self.model.class_attribute(cls, expr.attr)
        if len(assigned) != 1 or assigned[0][0] is None:
            return None
        value, method = assigned[0]
        if isinstance(value, ast.Attribute) and dotted(value) and dotted(value).startswith("self.") \
                and value.attr != expr.attr:
            return dotted(value)
        if isinstance(value, ast.Name) and method is not None:
            stored = sorted(self._stores_of(method, value.id))
            if stored:
                return stored[0]
        return None

    def canonical(self, expr: ast.AST, _depth: int = 0) -> str | None:
        """The dotted name of a module expression, through aliases (`model = self.model` names `self.model`)."""
        name = dotted(expr)
        if name is None or _depth > 8:
            return name
        root = expr
        while isinstance(root, ast.Attribute):
            if isinstance(root.value, ast.Name) and root.value.id == "self":
                alias = self._self_alias(root)
                if alias is not None and alias != dotted(root):
                    return alias + name[len(dotted(root)):]
                return name
            root = root.value
        bindings = self.model.bindings_reaching(root.id, root) if isinstance(root, ast.Name) else None
        if bindings and len(bindings) == 1 and bindings[0].kind == "assign" and not bindings[0].path \
                and isinstance(bindings[0].value, (ast.Name, ast.Attribute)):
            inner = self.canonical(bindings[0].value, _depth + 1)
            if inner is not None:
                return inner + name[len(root.id):]
        return name

    # --- whose parameters a loss reaches ---------------------------------------------------------------

    def reach(self, expr: ast.AST) -> Reach:
        """The modules whose parameters backward() through `expr` may and must reach."""
        found = self._reach.get(id(expr))
        if found is not None:
            return found
        if self._depth > _MAX_DEPTH:
            return ANYTHING
        self._reach[id(expr)] = NOTHING  # a cycle (a name rebound from itself in a loop) adds nothing
        self._depth += 1
        try:
            found = self._reach_uncached(expr)
        finally:
            self._depth -= 1
        self._reach[id(expr)] = found
        return found

    def _union(self, parts) -> Reach:
        reach = NOTHING
        for part in parts:
            if part is not None:
                reach = reach.union(self.reach(part))
        return reach

    def _reach_uncached(self, expr: ast.AST) -> Reach:
        model = self.model
        if isinstance(expr, (ast.Constant, ast.JoinedStr, ast.Lambda, ast.Compare)):
            return NOTHING
        if model.grad_enabled(expr) is False:
            return NOTHING
        # The model's own Grad is not asked here: its "plain data" for a module's output rests on whether the
        # module's class holds weights, which a container (`nn.Sequential(...)`) does not show, and its "cut"
        # spreads from one operand of a sum to the whole; the cuts are read where they happen instead.
        if isinstance(expr, ast.Name):
            return self._name_reach(expr)
        if isinstance(expr, ast.Attribute):
            if expr.attr in _CUT_ATTRIBUTES:
                return NOTHING
            base = self.reach(expr.value)
            name = self.canonical(expr)
            if name is None:
                return base
            kind = model.value(expr).kind
            if kind is Kind.PARAMETER:
                return base.union(Reach(frozenset({name}), frozenset({name})))
            if kind is not Kind.MODULE and name.startswith("self."):
                # Instance state (`self.out = self.model(x)` in another method) may hold any graph.
                return Reach(frozenset(), frozenset({name}), True)
            return base.union(Reach(frozenset(), frozenset({name})))
        if isinstance(expr, ast.Call):
            return self._call_reach(expr)
        if isinstance(expr, (ast.BinOp,)):
            return self._union([expr.left, expr.right])
        if isinstance(expr, ast.BoolOp):
            return self._union(expr.values)
        if isinstance(expr, ast.UnaryOp):
            return self.reach(expr.operand)
        if isinstance(expr, ast.IfExp):
            return _alternatives([self.reach(expr.body), self.reach(expr.orelse)])
        if isinstance(expr, ast.Subscript):
            return self.reach(expr.value)
        if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
            return self._union(expr.elts)
        if isinstance(expr, ast.Dict):
            return self._union(expr.values)
        if isinstance(expr, ast.Starred):
            return self.reach(expr.value)
        if isinstance(expr, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            reach = self._union([expr.elt, *(g.iter for g in expr.generators)])
            return Reach(frozenset(), reach.may, reach.unknown)
        if isinstance(expr, ast.NamedExpr):
            return self.reach(expr.value)
        return ANYTHING

    def _name_reach(self, name: ast.Name) -> Reach:
        model = self.model
        if model.value(name).kind is Kind.MODULE:
            # A module used as a value (`Trainer(model)`, `model.fc`): whatever uses it may reach its parameters.
            owner = self.canonical(name)
            return Reach(frozenset(), frozenset({owner})) if owner else ANYTHING
        bindings = model.bindings_in_flow(name.id, name)
        if bindings is None:
            return NOTHING if name.id in _BUILTINS or name.id in ("self", "None", "True", "False") else ANYTHING
        reaches = []
        for binding in bindings:
            if binding.kind in ("assign", "ann", "walrus") and binding.value is not None:
                reach = self.reach(binding.value)
                reaches.append(Reach(frozenset(), reach.may, reach.unknown) if binding.path else reach)
            elif binding.kind == "aug" and isinstance(binding.node, ast.AugAssign):
                # `loss += term`: what the name held just before, and the term.
                before = self._name_reach_at(name.id, binding.node.value)
                reaches.append(before.union(self.reach(binding.node.value)))
            elif binding.kind in ("for", "comp") and binding.value is not None:
                reach = self.reach(binding.value)
                if reach.unknown and binding.kind == "for" and self._steps_each_iteration(binding.node):
                    # The loop steps an optimizer every iteration: it iterates batches of data.
                    reach = Reach(frozenset(), reach.may, False)
                reaches.append(Reach(frozenset(), reach.may, reach.unknown))
            elif binding.kind in ("def", "class", "import"):
                reaches.append(NOTHING)
            elif binding.kind == "param":
                reaches.append(self._parameter_reach(name, binding))
            else:
                reaches.append(ANYTHING)
        reach = _alternatives(reaches)
        mutated = self._mutations(name).get(name.id)
        if mutated is not None:
            # `losses.append(l)`, `d[k] = v`, `total.add_(l)`: what was put in is reached too; a container handed
            # to a call that may fill it is not known.
            escaped, added = mutated
            if escaped and any(b.kind == "assign" and _is_container(b.value) for b in bindings):
                return ANYTHING
            reach = Reach(reach.must, reach.may, reach.unknown).union(self._union(added))
        return reach

    def _name_reach_at(self, name: str, use: ast.AST) -> Reach:
        """What `name` holds just before `use` (a synthetic use: the name is read where `use` starts)."""
        bindings = [b for b in (self.model.bindings_in_flow(name, use) or []) if b.node is not self.model.statement(use)]
        if not bindings:
            return ANYTHING
        reaches = []
        for binding in bindings:
            if binding.kind in ("assign", "ann", "walrus") and binding.value is not None:
                reaches.append(self.reach(binding.value))
            elif binding.kind == "aug" and isinstance(binding.node, ast.AugAssign):
                reaches.append(self._name_reach_at(name, binding.node.value).union(self.reach(binding.node.value)))
            else:
                reaches.append(ANYTHING)
        return _alternatives(reaches)

    def _mutations(self, node: ast.AST) -> dict[str, tuple[bool, list[ast.AST]]]:
        """Per name of `node`'s function (or the file): (handed to a call that may fill it, what was put in by
        `x.append(v)`, `x.extend(v)`, `x[k] = v`, `x.add_(v)` and the like). Built once per function."""
        function = self.model.function(node) or self.model.tree
        found = self._mutated.get(id(function))
        if found is not None:
            return found
        found = {}
        for current in _own_nodes(function) if function is not self.model.tree else ast.walk(function):
            if isinstance(current, ast.Call):
                func = current.func
                arguments = [*current.args, *(k.value for k in current.keywords)]
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and (
                        func.attr in _MUTATORS or (func.attr.endswith("_") and not func.attr.startswith("_"))):
                    found.setdefault(func.value.id, (False, []))[1].extend(arguments)
                pure = (self.model.qualified_name(func) or "").split(".", 1)[0] in _PURE_ROOTS or (
                    isinstance(func, ast.Name) and func.id in _BUILTINS)
                if not pure:
                    for argument in arguments:
                        if isinstance(argument, ast.Name):
                            escaped, added = found.get(argument.id, (False, []))
                            found[argument.id] = (True, added)
            elif isinstance(current, ast.Assign):
                for target in current.targets:
                    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                        found.setdefault(target.value.id, (False, []))[1].append(current.value)
        self._mutated[id(function)] = found
        return found

    def _parameter_reach(self, name: ast.Name, binding) -> Reach:
        """A function's parameter: a module is itself (named by the parameter); plain data reaches nothing;
        anything else may carry a graph from the caller."""
        value = self.model.value(name)
        if value.kind is Kind.MODULE:
            return Reach(frozenset({name.id}), frozenset({name.id}))
        if value.grad is Grad.DATA:
            return NOTHING
        return ANYTHING

    def _steps_each_iteration(self, loop: ast.AST) -> bool:
        if not isinstance(loop, (ast.For, ast.AsyncFor)):
            return False
        found = self._stepping_loops.get(id(loop))
        if found is None:
            found = self._stepping_loops[id(loop)] = any(
                isinstance(s, ast.stmt) and self.stepped_optimizer(s) is not None for s in _own_nodes(loop))
        return found

    def _call_reach(self, call: ast.Call) -> Reach:
        model = self.model
        func = call.func
        arguments = [*call.args, *(k.value for k in call.keywords)]
        qualified = model.qualified_name(func)
        if qualified is not None and qualified.split(".", 1)[0] in _PURE_ROOTS:
            if qualified in ("torch.tensor", "torch.Tensor", "torch.as_tensor", "torch.from_numpy",
                             "torch.autograd.Variable"):
                return NOTHING  # a re-wrap: a new leaf, cut from the graph
            return self._union(arguments)
        if isinstance(func, ast.Attribute):
            if func.attr in _CUTS:
                return NOTHING
            receiver = model.value(func.value)
            if receiver.kind is Kind.MODULE:  # `net(x)`'s method: `self.critic.Q1(s, a)`, `net.forward(x)`
                return self._module_reach(func.value).union(self._union(arguments))
            if receiver.kind in (Kind.TENSOR, Kind.PARAMETER) or func.attr in _SHAPE_METHODS:
                # A tensor's method: `x.sum(1)`, `out.view(-1)`, `x.to(device)` (a shape, a device, a dtype
                # carries no graph); `x.add(y)`, `x.mul(w)` also reach what their arguments reach.
                base = self.reach(func.value)
                if func.attr in _SHAPE_METHODS:
                    return base
                return base.union(self._union(arguments))
        if isinstance(func, ast.Name) and model.bindings_reaching(func.id, func) is None:
            if func.id in _PYTHON_VALUES:
                return NOTHING  # `int(x)`, `len(x)`: a Python value, cut from any graph
            if func.id in _BUILTINS:
                return self._union(arguments)
            # Not bound in this file (a fragment's `model`): it reaches its own parameters if it has any, and
            # what else it can see is not known.
            return Reach(frozenset({func.id}), frozenset({func.id}), True).union(self._union(arguments))
        callee = model.value(func)
        if callee.kind is Kind.MODULE:
            return self._module_reach(func).union(self._union(arguments))
        if model.local_class(func) is not None:
            return self._union(arguments)  # a new object of this file's class: its own fresh parameters
        if model.local_function(func) is not None:
            return ANYTHING  # a helper of this file may use any module it can see
        if isinstance(func, ast.Attribute):
            if isinstance(func.value, ast.Name) and func.value.id == "self" and self._assigned_attribute(func):
                # `self.netG(z)`: a callable the class stores (a module, a loss function), whatever it is, reaches
                # its own parameters and what its arguments reach.
                owner = self.canonical(func)
                own = frozenset({owner}) if owner else frozenset()
                return Reach(own, own, owner is None).union(self._union(arguments))
            if model.local_class_of(model.value(func.value)) is not None:
                return ANYTHING  # a method of this file's class may use any module it can see
            # Another object's method (`torch.Generator().manual_seed(0)`, `out.view(-1)` where the model does
            # not know `out` is a tensor): what it computes comes from the object and the arguments.
            return self.reach(func.value).union(self._union(arguments))
        if isinstance(func, ast.Name):
            bindings = model.bindings_reaching(func.id, func) or []
            if bindings and all(b.kind in ("param", "import") for b in bindings):
                # A callable passed in (`criterion`) or imported: whatever it is, what it computes from its
                # arguments reaches what they reach; a module passed in reaches its own parameters too.
                own = frozenset({func.id}) if any(b.kind == "param" for b in bindings) else frozenset()
                return Reach(own, own).union(self._union(arguments))
        return ANYTHING

    def _module_reach(self, module: ast.AST) -> Reach:
        """A forward call of `module` reaches its parameters, and those of modules it was built from."""
        owner = self.canonical(module)
        if owner is None:
            return ANYTHING
        owners = {owner}
        if isinstance(module, ast.Name):
            for binding in self.model.bindings_reaching(module.id, module) or []:
                if binding.kind == "assign" and isinstance(binding.value, ast.Call):
                    for argument in [*binding.value.args, *(k.value for k in binding.value.keywords)]:
                        if self.model.value(argument).kind is Kind.MODULE and (inner := self.canonical(argument)):
                            owners.add(inner)
        return Reach(frozenset({owner}), frozenset(owners))

    # --- the events of a function, in execution order --------------------------------------------------

    def events(self, function: ast.AST) -> list[Event]:
        """What `function` (a def, or the module for a script) does in its training steps, in source order."""
        found = self._events.get(id(function))
        if found is None:
            found = sorted(self._collect(function), key=lambda e: (e.call.lineno, e.call.col_offset))
            self._events[id(function)] = found
        return found

    def own_calls(self, function: ast.AST) -> Iterator[ast.AST]:
        """The nodes `events(function)` classifies (its own, outside nested scopes), before any inference: a rule
        that wants only some events can look at these first and skip `events`, which infers what each call
        calls."""
        body = function.body if isinstance(function, (*_FUNCTIONS, ast.Module)) else []
        for statement in body:
            for node in _own_nodes(statement):
                if isinstance(node, ast.Call):
                    yield node

    def may_be_forward(self, call: ast.Call) -> bool:
        """Necessary for `call` to be a "forward" event: what it calls (or, for `x.forward(...)`, `x`) holds a
        module."""
        if self.model.value(call.func).kind is Kind.MODULE:
            return True
        func = call.func
        return (isinstance(func, ast.Attribute) and func.attr == "forward"
                and self.model.value(func.value).kind is Kind.MODULE)

    def _collect(self, function: ast.AST) -> Iterator[Event]:
        body = function.body if isinstance(function, (*_FUNCTIONS, ast.Module)) else []
        for statement in body:
            for node in _own_nodes(statement):
                if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                    if isinstance(node, ast.Call) and self.model.value(node.func).kind is Kind.MODULE:
                        yield self._event("forward", node, node.func)
                    continue
                attr = node.func.attr
                owner = self.model.statement(node)
                if (loss := self.backward_loss(node)) is not None:
                    yield self._event("backward", node, loss)
                elif attr == "step" and owner is not None and (optimizer := self.stepped_optimizer(owner)) is not None:
                    yield self._event("step", node, optimizer)
                elif attr == "step" and not node.args and self.model.value(node.func.value).kind is Kind.SCHEDULER:
                    yield self._event("scheduler_step", node, node.func.value)
                elif attr == "zero_grad":
                    yield self._event("zero_grad", node, node.func.value)
                elif attr == "unscale_" and node.args:
                    yield self._event("unscale", node, node.args[0])
                elif attr in _CLIPS:
                    yield self._event("clip", node, node.args[0] if node.args else None)
                elif attr in ("train", "eval") and self._switches_mode(node) is not None:
                    yield self._event(self._switches_mode(node), node, node.func.value)
                elif self.model.value(node.func).kind is Kind.MODULE or (
                        attr == "forward" and self.model.value(node.func.value).kind is Kind.MODULE):
                    yield self._event("forward", node, node.func if attr != "forward" else node.func.value)

    def _event(self, kind: str, call: ast.Call, target) -> Event:
        statement = self.model.statement(call)
        loops = tuple(self.model.enclosing_loops(call))
        accumulating = any(isinstance(a, ast.If) and any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mod)
                                                          for n in ast.walk(a.test))
                           for a in self._ancestors_within(call))
        return Event(kind, statement, call, target, loops, accumulating)

    def _ancestors_within(self, node: ast.AST) -> Iterator[ast.AST]:
        for ancestor in self.model.ancestors(node):
            if isinstance(ancestor, _NESTED_SCOPES):
                return
            yield ancestor

    def _switches_mode(self, call: ast.Call) -> str | None:
        """"train" for `m.train()`/`m.train(True)`, "eval" for `m.eval()`/`m.train(False)`, on a module."""
        receiver = call.func.value
        if self.model.value(receiver).kind not in (Kind.MODULE, Kind.UNKNOWN):
            return None
        if call.func.attr == "eval" and not call.args and not call.keywords:
            return "eval"
        if call.func.attr == "train" and not call.keywords and len(call.args) <= 1:
            if not call.args:
                return "train"
            argument = call.args[0]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, bool):
                return "train" if argument.value else "eval"
        return None

    # --- walking back in execution order --------------------------------------------------------------

    def trace_back(self, statement: ast.stmt, optimizer: ast.expr) -> Trace:
        """Walking back from `statement` within its iteration (or its function), the first thing that matters to
        `optimizer`: a backward() that may reach its parameters, a zero_grad() that clears all of them on every
        path, or the start of the iteration. Branches join soundly: one branch with such a backward is enough
        for "backward"; "cleared" needs every branch that falls through to clear."""
        key = dotted(optimizer)
        owners = self.parameters(optimizer)
        classify = lambda s: self._optimizer_verdict(s, key, owners)
        return self._trace(statement, ("optimizer", key, owners), classify, _optimizer_merge)

    def next_backward(self, statement: ast.stmt, optimizer: ast.expr) -> ast.stmt | None:
        """The first statement after `statement` in its block that runs (or may run) a backward() that may reach
        `optimizer`'s parameters."""
        key = dotted(optimizer)
        owners = self.parameters(optimizer)
        block = self._block(statement)
        if block is None:
            return None
        index = next(i for i, s in enumerate(block) if s is statement)
        for later in block[index + 1:]:
            found = self._summary(later, ("optimizer", key, owners),
                                  lambda s: self._optimizer_verdict(s, key, owners), _optimizer_merge)
            if found is not None and found[0] == "backward":
                return later
        return None

    def backward_reaches(self, statement: ast.stmt, optimizer: ast.expr) -> str | None:
        """"must" when the backward() of a simple statement reaches some of `optimizer`'s parameters on every
        path, "may" when it may, None when it provably does not (or the statement runs none)."""
        reach = self.backward_reach(statement)
        if reach is None:
            return None
        owners = self.parameters(optimizer)
        if reach.must_reach(owners):
            return "must"
        return "may" if reach.may_reach(owners) else None

    def _optimizer_verdict(self, statement: ast.stmt, key: str | None, owners) -> str | None:
        reach = self.backward_reach(statement)
        if reach is not None:
            return "backward" if reach.may_reach(owners) else None
        if self.calls_backward_helper(statement):
            return "backward"
        cleared = self.cleared_owners(statement)
        if cleared is not None:
            name, modules = cleared
            if name is not None and name == key:
                return "cleared"
            if name is None and modules is not None and owners is not None \
                    and all(any(covers(m, o) for m in modules) for o in owners):
                return "cleared"
        return None

    def calls_backward_helper(self, statement: ast.stmt) -> bool:  # public: rules walking blocks ask it too
        """A simple statement that calls a function or method of this file that runs backward()."""
        for node in _own_nodes(statement):
            if isinstance(node, ast.Call):
                helper = self.model.local_function(node.func)
                if helper is not None:
                    found = self._backward_helpers.get(id(helper))
                    if found is None:
                        found = self._backward_helpers[id(helper)] = any(
                            isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                            and n.func.attr in ("backward", "manual_backward") for n in ast.walk(helper))
                    if found:
                        return True
        return False

    def mode_at(self, call: ast.Call) -> str | None:
        """"train" or "eval": the mode of the module `call` runs (`model(x)`, `model.forward(x)`) at that call,
        when every path within the function to it leaves the same mode; None when the file does not say."""
        func = call.func
        module = func.value if isinstance(func, ast.Attribute) and func.attr == "forward" else func
        owner = self.canonical(module)
        statement = self.model.statement(call)
        if owner is None or statement is None:
            return None
        classify = lambda s: self._mode_verdict(s, owner)
        trace = self._trace(statement, ("mode", owner), classify, _mode_merge)
        if trace.kind in ("train", "eval"):
            return trace.kind
        if trace.kind == "start" and isinstance(trace.statement, _LOOPS):
            # The start of an iteration: the mode the loop was entered in, and the one each iteration ends in.
            end = self._scan(trace.statement.body, ("mode", owner), classify, _mode_merge)
            entered = self._trace(trace.statement, ("mode", owner), classify, _mode_merge)
            if entered.kind in ("train", "eval") and (end is None or end[0] == entered.kind):
                return entered.kind
        return None

    def mode_before(self, statement: ast.stmt, owner: str) -> str | None:
        """The mode of the module named `owner` (canonical) when `statement` runs, counting a construction
        (`model = Net()`, `model = Net().to(device)`) as train(), since every new module starts in training mode:
        "train" or "eval" when every path within the function leaves the same mode, "start" when nothing within
        the function switches or builds it first (its callers decide), None when the paths disagree or the file
        does not say. `mode_at` counts switches only; this is for a rule that must know the mode a module was
        built in."""
        classify = lambda s: self._mode_verdict(s, owner) or self._built_verdict(s, owner) or self._opaque_verdict(
            s, owner)
        return self._mode_entering(statement, ("mode+built", owner), classify, 0)

    def _opaque_verdict(self, statement: ast.stmt, owner: str) -> str | None:
        """"unknown" for a statement that may switch `owner`'s mode out of sight: a function of this file that
        calls `train()`/`eval()` (`validate(model)`, `self.evaluate()`), a function the file does not show given
        the module or what holds it (`set_eval(model)`, `callback.on_epoch_end(self)`), or a method of the module
        that may switch it (`model.freeze()`, `model.apply(fn)`)."""
        exits = set()
        for node in _own_nodes(statement):
            if not isinstance(node, ast.Call):
                continue
            callee = self.model.callee(node)
            if callee is not None:
                if self._switches_inside(callee, 0):
                    exits.add(self._exit_mode(callee, node, owner))
                continue
            func = node.func
            if self.model.value(func).kind is Kind.MODULE:
                continue  # a forward call (`self.model(x)`, `model.fc(x)`)
            if isinstance(func, ast.Attribute) and func.attr not in _MODE_NEUTRAL:
                receiver = self.canonical(func.value)
                if receiver is not None and overlaps(receiver, owner) \
                        and self.model.value(func.value).kind in (Kind.MODULE, Kind.UNKNOWN, Kind.OBJECT):
                    return "unknown"
            qualified = self.model.qualified_name(func) or ""
            if qualified.split(".")[0] in ("torch", "builtins") or (
                    isinstance(func, ast.Name) and func.id in _BUILTINS | _PYTHON_VALUES):
                continue
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                argument = argument.value if isinstance(argument, ast.Starred) else argument
                if isinstance(argument, ast.Attribute) and argument.attr == "training" or \
                        self.model.value(argument).kind in (Kind.TENSOR, Kind.PARAMETER):
                    continue  # `log(model.training)`, `hist(model.fc.weight)`: a value, not the module
                given = self.canonical(argument) if isinstance(argument, (ast.Name, ast.Attribute)) else None
                if given is not None and overlaps(given, owner):
                    return "unknown"
        if not exits:
            return None
        return exits.pop() or "unknown" if len(exits) == 1 else "unknown"

    def _exit_mode(self, callee: ast.AST, call: ast.Call, owner: str) -> str | None:
        """The mode a function of this file leaves the module in, when every path through it ends in the same one
        (`def train_epoch(model, ...): model.train(); ...`); None when it does not say, returns early, or the
        module cannot be named inside it."""
        if self._exit_depth > 3 or not isinstance(callee, _FUNCTIONS):
            return None
        inner = self._owner_inside(callee, call, owner)
        if inner is None:
            return None
        last = callee.body[-1]
        if any(isinstance(n, (ast.Return, ast.Raise, ast.Yield, ast.YieldFrom)) and n is not last
               for statement in callee.body for n in _own_nodes(statement)):
            return None
        classify = lambda s: self._mode_verdict(s, inner) or self._built_verdict(s, inner) or self._opaque_verdict(
            s, inner)
        self._exit_depth += 1
        try:
            found = self._scan(callee.body, ("mode+built", inner), classify, _mode_merge)
        finally:
            self._exit_depth -= 1
        return found[0] if found is not None and found[0] in ("train", "eval") else None

    def _owner_inside(self, callee: ast.AST, call: ast.Call, owner: str) -> str | None:
        """How `callee` names the module the caller names `owner`: through the parameter it is passed as (`self` of
        a method called on what holds it), or as the same module-level name."""
        positional = [a.arg for a in callee.args.posonlyargs + callee.args.args]
        pairs = []
        if isinstance(call.func, ast.Attribute) and positional and self.model.enclosing_class(callee) is not None \
                and not self.model.is_static_method(callee):
            pairs.append((positional[0], call.func.value))
            positional = positional[1:]
        if any(isinstance(a, ast.Starred) for a in call.args):
            return None
        pairs += list(zip(positional, call.args))
        pairs += [(k.arg, k.value) for k in call.keywords if k.arg is not None]
        for parameter, argument in pairs:
            given = self.canonical(argument) if isinstance(argument, (ast.Name, ast.Attribute)) else None
            if given is not None and covers(given, owner):
                return parameter + owner[len(given):]
        root = owner.split(".")[0]
        scope = self.model.scope_of_definition(callee)
        caller = self.model.function(call)
        caller_scope = self.model.scope_of_definition(caller) if caller is not None else None
        if scope is None or root in scope.bindings or root == "self" or (
                caller is not None and (caller_scope is None or root in caller_scope.bindings)):
            return None
        return owner  # the same module-level name, read (not bound) by both

    def _switches_inside(self, function: ast.AST, depth: int) -> bool:
        """A function of this file that calls `train()` or `eval()` (itself, or through its own helpers)."""
        found = self._switching.get(id(function))
        if found is None:
            self._switching[id(function)] = False  # recursion: nothing more found through itself
            found = False
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr in ("train", "eval"):
                    found = True
                    break
                if isinstance(node, ast.Call) and depth < 3:
                    inner = self.model.callee(node)
                    if inner is not None and inner is not function and self._switches_inside(inner, depth + 1):
                        found = True
                        break
            self._switching[id(function)] = found
        return found

    def _mode_entering(self, node: ast.AST, cache_key: tuple, classify, depth: int) -> str | None:
        trace = self._trace(node, cache_key, classify, _mode_merge)
        if trace.kind in ("train", "eval"):
            return trace.kind
        if trace.kind != "start" or depth > 8:
            return None
        if isinstance(trace.statement, _FUNCTIONS):
            return "start"
        if isinstance(trace.statement, _LOOPS):
            # The start of an iteration: the mode the loop was entered in, if each iteration ends in it too.
            end = self._scan(trace.statement.body, cache_key, classify, _mode_merge)
            entered = self._mode_entering(trace.statement, cache_key, classify, depth + 1)
            return entered if end is None or end[0] == entered else None
        return None  # the start of the script: a module it did not build

    def _built_verdict(self, statement: ast.stmt, owner: str) -> str | None:
        """"train" (or "eval") for `owner = Net(...)`, with movers and a switch chained (`Net().to(d).eval()`);
        "unknown" when a part of `owner` is replaced (`model.fc = nn.Linear(...)` after `model.eval()`)."""
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            return None
        built = self.canonical(target) if isinstance(target, (ast.Name, ast.Attribute)) else None
        if built is None or not overlaps(built, owner):
            return None
        mode = self._construction_mode(value)
        if covers(built, owner):
            if self._same_module(value, built) and mode != "eval":
                return None  # `model = model.to(device)`, `model = nn.DataParallel(model)`: the module, as it was
            return mode or "unknown"
        return "unknown"  # a part of the module rebuilt: its new layers are in training mode, the rest as before

    def _same_module(self, value: ast.AST, built: str) -> bool:
        """`value` is the module `built` names, moved (`model.to(device)`) or wrapped (`nn.DataParallel(model)`): a
        wrapper runs the module it is given, in that module's own mode."""
        while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) \
                and value.func.attr in _MOVERS_AND_SWITCHES and value.func.attr not in ("train", "eval"):
            value = value.func.value
        if isinstance(value, (ast.Name, ast.Attribute)):
            return self.canonical(value) == built
        if isinstance(value, ast.Call):
            arguments = [*value.args, *(k.value for k in value.keywords)]
            return any(isinstance(a, (ast.Name, ast.Attribute)) and self.canonical(a) == built for a in arguments)
        return False

    def _construction_mode(self, value: ast.AST) -> str | None:
        """The mode of a module made by `value`: "train" for a module class called (`Net(...)`, `nn.Sequential(...)`),
        through movers and switches chained on it; None when `value` makes no module the file shows being built."""
        while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) \
                and value.func.attr in _MOVERS_AND_SWITCHES:
            if value.func.attr in ("train", "eval"):
                return self._switches_mode(value)
            value = value.func.value
        if not isinstance(value, ast.Call) or self.model.value(value).kind is not Kind.MODULE:
            return None
        func = value.func
        if self.model.local_class(func) is not None:
            return "train"
        qualified = self.model.qualified_name(func)
        project = self.model.project
        if qualified and (is_module_class(qualified) or (project is not None and project.is_module_class(qualified))):
            return "train"
        return None

    def _mode_verdict(self, statement: ast.stmt, owner: str) -> str | None:
        call = _single_call(statement)
        if call is None or not isinstance(call.func, ast.Attribute) or call.func.attr not in ("train", "eval"):
            return None
        switched = self.canonical(call.func.value)
        mode = self._switches_mode(call)
        if mode is None or switched is None:
            return None
        if covers(switched, owner):
            return mode
        return "unknown" if covers(owner, switched) else None  # a part of the module switched: mixed modes

    def _trace(self, statement: ast.stmt, cache_key: tuple, classify, merge) -> Trace:
        node: ast.AST = statement
        while True:
            parent = self.model.parent(node)
            block = self._block(node)
            if parent is None or block is None:
                return Trace("unknown", None)
            index = next(i for i, s in enumerate(block) if s is node)
            found = self._scan(block[:index], cache_key, classify, merge)
            if found is not None:
                return Trace(*found)
            if isinstance(parent, (*_FUNCTIONS, ast.Module)):
                return Trace("start", parent)
            if isinstance(parent, _LOOPS):
                return Trace("start", parent) if block is parent.body else Trace("unknown", parent)
            if isinstance(parent, (ast.If, ast.With, ast.AsyncWith)) or (
                    isinstance(parent, ast.Try) and block is parent.body):
                node = parent
                continue
            return Trace("unknown", parent)

    def _block(self, statement: ast.AST) -> list | None:
        parent = self.model.parent(statement)
        if parent is None:
            return None
        for _, value in ast.iter_fields(parent):
            if isinstance(value, list) and any(s is statement for s in value):
                return value
        return None

    def _scan(self, statements, cache_key, classify, merge) -> tuple | None:
        """Reading `statements` backwards: the first verdict, as (verdict, statement), or None."""
        for statement in reversed(statements):
            found = self._summary(statement, cache_key, classify, merge)
            if found is not None:
                return found
        return None

    def _summary(self, statement: ast.stmt, cache_key, classify, merge) -> tuple | None:
        """What a statement, read as a whole, tells a backwards walk: (verdict, statement) or None."""
        memo = (id(statement), cache_key)
        if memo in self._summaries:
            return self._summaries[memo]
        if not _is_compound(statement):
            verdict = classify(statement)
            result = (verdict, statement) if verdict is not None else None
        elif isinstance(statement, _NESTED_SCOPES):
            result = None
        elif isinstance(statement, ast.If):
            branches = [b for b in (statement.body, statement.orelse) if not _terminates(b)]
            results = [self._scan(b, cache_key, classify, merge) for b in branches]
            result = merge(results, statement, loop=False) if branches else None
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            result = self._scan(statement.body, cache_key, classify, merge)
        elif isinstance(statement, (*_LOOPS,)):
            result = merge([self._scan(statement.body + statement.orelse, cache_key, classify, merge)], statement,
                           loop=True)
        else:  # try, match: any verdict inside counts as "may", nothing as "must"
            inner = [s for s in _own_nodes(statement) if isinstance(s, ast.stmt) and s is not statement
                     and not _is_compound(s)]
            results = [self._summary(s, cache_key, classify, merge) for s in inner]
            result = merge([r for r in results if r is not None] + [None], statement, loop=True)
        self._summaries[memo] = result
        return result


def _optimizer_merge(results: list, statement: ast.stmt, loop: bool) -> tuple | None:
    """Branches (or a loop body that may not run): a backward() in any is a backward() that may have run; a
    clear holds only when every branch clears (a loop may run zero times)."""
    for result in results:
        if result is not None and result[0] == "backward":
            return result
    if not loop and results and all(r is not None and r[0] == "cleared" for r in results):
        return ("cleared", statement)
    return None


def _mode_merge(results: list, statement: ast.stmt, loop: bool) -> tuple | None:
    """Branches agree on a mode, or the mode is unknown; a loop that may not run leaves it unknown if it switches."""
    verdicts = {r[0] if r is not None else None for r in results}
    if verdicts == {None}:
        return None
    if not loop and len(verdicts) == 1:
        return (verdicts.pop(), statement)
    return ("unknown", statement)


def _is_container(expr: ast.AST | None) -> bool:
    """A list, dict or set made here, empty or not: `[]`, `{}`, `list()`, `dict()`, `set()`, `defaultdict(list)`."""
    if isinstance(expr, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
        return True
    return isinstance(expr, ast.Call) and isinstance(expr.func, (ast.Name, ast.Attribute)) and (
        dotted(expr.func) or "").split(".")[-1] in ("list", "dict", "set", "defaultdict", "OrderedDict", "deque")


def _is_compound(statement: ast.AST) -> bool:
    return isinstance(statement, ast.stmt) and any(
        isinstance(value, list) and value and isinstance(value[0], ast.stmt)
        for _, value in ast.iter_fields(statement)
    ) or isinstance(statement, _NESTED_SCOPES)


def _terminates(block: list) -> bool:
    return bool(block) and isinstance(block[-1], _TERMINATORS)


def _single_call(statement: ast.AST) -> ast.Call | None:
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        return statement.value
    return None
