"""What a statement of a training loop does (backward, step, zero_grad, clip, scheduler step), and how to move one.

Shared by the GF4xx rules. Detection is on the semantic model and per block: a rule looks at the statements
of one block (a loop body, a function body, a `with` body) in order, and never reasons across branches it
cannot see whole. Fixes move whole statements on LibCST.

What is an optimizer comes from the model (`Kind.OPTIMIZER`: `torch.optim.Adam(...)`, `self.optimizer`
assigned one in `__init__`, an `optimizer: Optimizer` annotation). Where the model cannot tell, a receiver
counts as an optimizer only on call-shape evidence in the same function (or, for `self.x`, the same class):
it is cleared with `X.zero_grad()` there, or handed to an `lr_scheduler` constructor. A scheduler is only
what the model knows to be one. Each rule says in its docs which evidence it accepts.
"""
from __future__ import annotations

import ast
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from autofix.fixes import FixTree
from autofix.lazy import libcst as cst
from autofix.rule import Applicability, Edit, Effect, Fix
from autofix.semantic import Kind, Range, SemanticModel, dotted, walk_own_nodes

BACKWARD_METHODS = frozenset({"backward", "manual_backward"})
_HIGHER_ORDER_KEYWORDS = frozenset({"create_graph", "retain_graph"})
_CLIP_OR_UNSCALE = frozenset({"clip_grad_norm_", "clip_grad_value_", "clip_grad_norm", "unscale_"})
_COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.FunctionDef,
             ast.AsyncFunctionDef, ast.ClassDef, *((ast.Match,) if hasattr(ast, "Match") else ()),
             *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))
_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


# --- structure -----------------------------------------------------------------------------------------

def block_of(model: SemanticModel, statement: ast.stmt) -> list[ast.stmt] | None:
    """The statement list (a body, an orelse, a finally block, ...) that holds `statement`."""
    parent = model.parent(statement)
    if parent is None:
        return None
    for _, value in ast.iter_fields(parent):
        if isinstance(value, list) and any(s is statement for s in value):
            return value
    return None


def own_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """`node` and everything under it, except the insides of nested functions, classes and lambdas; a nested
    definition given as `node` is itself only."""
    if isinstance(node, _NESTED_SCOPES):
        yield node
        return
    yield from walk_own_nodes(node)


def contains(statement: ast.stmt, predicate: Callable[[ast.stmt], object]) -> bool:
    """True when `statement`, or a statement nested in it (not in a nested function), satisfies `predicate`."""
    return any(isinstance(n, ast.stmt) and predicate(n) for n in own_nodes(statement))


def single_call(statement: ast.stmt) -> ast.Call | None:
    """The call of a statement that is nothing but one call (`opt.step()`), else None."""
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        return statement.value
    return None


def method_call(statement: ast.stmt, name: str) -> ast.Call | None:
    """The `X.<name>(...)` call a statement consists of, else None."""
    call = single_call(statement)
    if call is not None and isinstance(call.func, ast.Attribute) and call.func.attr == name:
        return call
    return None


# How two mentions of one receiver are matched (`self.opt`).
key = dotted


# --- what a statement does -------------------------------------------------------------------------

def backward_kind(model: SemanticModel, statement: ast.stmt) -> str | None:
    """"plain" for a simple statement that runs backward(), "higher-order" when it keeps the graph
    (`create_graph=`/`retain_graph=`, also `torch.autograd.grad(..., create_graph=True)`), else None."""
    if isinstance(statement, _COMPOUND):
        return None
    kind = None
    for node in own_nodes(statement):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        keeps_graph = any(k.arg in _HIGHER_ORDER_KEYWORDS for k in node.keywords)
        if node.func.attr in BACKWARD_METHODS:
            if keeps_graph:
                return "higher-order"
            kind = "plain"
        elif node.func.attr == "grad" and keeps_graph and model.qualified_name(node.func) == "torch.autograd.grad":
            return "higher-order"
    return kind


def any_backward(model: SemanticModel, statements) -> bool:
    """True when any of `statements`, or a statement nested in one, runs backward()."""
    return any(contains(s, lambda t: backward_kind(model, t) is not None) for s in statements)


def zero_grad(statement: ast.stmt) -> ast.expr | None:
    """The receiver of a `X.zero_grad(...)` statement."""
    call = method_call(statement, "zero_grad")
    return call.func.value if call is not None else None


def clips_or_unscales(statement: ast.stmt) -> bool:
    call = single_call(statement)
    if call is None:
        return False
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in _CLIP_OR_UNSCALE


def _is_grad(expr: ast.AST) -> bool:
    return isinstance(expr, ast.Attribute) and expr.attr == "grad"


def _mentions_grad(expr: ast.AST) -> bool:
    return any(_is_grad(n) for n in own_nodes(expr))


def in_place_method(call: ast.AST) -> str | None:
    """`add_` for `x.add_(...)` (a public method with a trailing underscore: PyTorch's in-place spelling)."""
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
        name = call.func.attr
        if name.endswith("_") and not name.startswith("_"):
            return name
    return None


def manual_update(statement: ast.stmt) -> bool:
    """A hand-written update from gradients: `with torch.no_grad(): for p in ...: p -= lr * p.grad`,
    `p.data.add_(p.grad, alpha=-lr)`. Reading `.grad` to write something else in place is the evidence."""
    if isinstance(statement, _COMPOUND) and not isinstance(statement, (ast.With, ast.For)):
        return False
    for node in own_nodes(statement):
        if isinstance(node, ast.AugAssign) and not _is_grad(node.target) and _mentions_grad(node.value):
            return True
        if in_place_method(node) and not _is_grad(node.func.value) and any(
            _mentions_grad(a) for a in [*node.args, *(k.value for k in node.keywords)]
        ):
            return True
    return False


# In-place methods that change no parameter value.
_NOT_A_WRITE = frozenset({"requires_grad_", "share_memory_", "retain_grad_", "record_stream_"})


def _root_names(model: SemanticModel, target: ast.AST) -> set[str]:
    """The objects a written parameter belongs to: `model` for `model.fc.weight`, and for `p` bound by
    `for p in model.parameters():` also `model`."""
    while isinstance(target, (ast.Attribute, ast.Subscript)):
        target = target.value
    if not isinstance(target, ast.Name):
        return set()
    roots = {target.id}
    for binding in model.bindings_reaching(target.id, target) or ():
        if binding.kind == "for" and binding.value is not None:
            roots |= {n.id for n in own_nodes(binding.value) if isinstance(n, ast.Name)}
    return roots


def parameter_writes(model: SemanticModel, statement: ast.stmt) -> set[str]:
    """For `with torch.no_grad():` holding an in-place write to a parameter that does not read `.grad`
    (`model.weight.copy_(...)`, `p.add_(noise)`, `p.data.mul_(0.9)`, `p += delta`): the names of the objects
    written (see `_root_names`); else an empty set. Only parameters the model knows count."""
    if not isinstance(statement, (ast.With, ast.AsyncWith)) or not any(
        model.disables_grad(item.context_expr, inference_mode=False) for item in statement.items
    ):
        return set()
    roots: set[str] = set()
    for node in own_nodes(statement):
        target = None
        if (method := in_place_method(node)) and method not in _NOT_A_WRITE:
            target = node.func.value
            if isinstance(target, ast.Attribute) and target.attr == "data":
                target = target.value
            reads = [*node.args, *(k.value for k in node.keywords)]
        elif isinstance(node, ast.AugAssign):
            target, reads = node.target, [node.value]
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Subscript):
            target, reads = node.targets[0].value, [node.value]
        if target is None or _is_grad(target) or any(_mentions_grad(r) for r in reads):
            continue
        if model.is_parameter(target):
            roots |= _root_names(model, target)
    return roots


def binds(statement: ast.stmt, wanted: set[str]) -> bool:
    """True when `statement` (or a statement nested in it) assigns one of the names in `wanted`."""
    return any(
        isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id in wanted for n in own_nodes(statement)
    )


def mentions(statement: ast.stmt, wanted: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in wanted for n in own_nodes(statement))


# --- what is an optimizer --------------------------------------------------------------------------

class Evidence:
    """Per file: which receivers the call shapes show to be optimizers (built once, on the first question)."""

    _of: ClassVar[weakref.WeakKeyDictionary] = weakref.WeakKeyDictionary()

    def __init__(self, model: SemanticModel):
        # Held weakly: `_of` keys on the model, and a strong reference back from its value would keep every
        # model (and its file's syntax tree) alive for good, which a long-running language server cannot afford.
        self._model = weakref.ref(model)
        self._zeroed: dict[tuple[int, str], bool] | None = None
        self._scheduled: set[tuple[int, str]] | None = None
        self._called: set[tuple[int, str]] | None = None

    @property
    def model(self) -> SemanticModel:
        return self._model()

    @classmethod
    def of(cls, model: SemanticModel) -> Evidence:
        found = cls._of.get(model)
        if found is None:
            found = cls._of[model] = cls(model)
        return found

    def _scope(self, node: ast.AST, name: str) -> int:
        """Where evidence about `name` counts: the class for `self.x` in a method, else the function (or file)."""
        function = self.model.function(node)
        if name.startswith("self.") and isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            cls = self.model.enclosing_class(function)
            if cls is not None:
                return id(cls)
        return id(function if function is not None else self.model.tree)

    def zeroed(self, expr: ast.AST) -> bool:
        """`X.zero_grad()` is called on this receiver in its function (or class, for `self.x`)."""
        if self._zeroed is None:
            self._zeroed = {}
            for call in self.model.calls_to_method("zero_grad"):
                name = key(call.func.value)
                if name is not None:
                    self._zeroed[(self._scope(call, name), name)] = True
        name = key(expr)
        return name is not None and (self._scope(expr, name), name) in self._zeroed

    def scheduled(self, expr: ast.AST) -> bool:
        """The receiver is the first argument of an `lr_scheduler` constructor in its function (or class)."""
        if self._scheduled is None:
            self._scheduled = set()
            for call in self.model.nodes(ast.Call):
                if not call.args or "lr_scheduler" not in (self.model.qualified_name(call.func) or ""):
                    continue
                if self.model.value(call).kind is Kind.SCHEDULER:
                    name = key(call.args[0])
                    if name is not None:
                        self._scheduled.add((self._scope(call, name), name))
        name = key(expr)
        return name is not None and (self._scope(expr, name), name) in self._scheduled

    def called(self, expr: ast.AST) -> bool:
        """The receiver is itself called (`model(x)`) in its function (or class): a module, not an optimizer."""
        if self._called is None:
            self._called = set()
            for call in self.model.nodes(ast.Call):
                name = key(call.func)
                if name is not None:
                    self._called.add((self._scope(call, name), name))
        name = key(expr)
        return name is not None and (self._scope(expr, name), name) in self._called

    def is_optimizer(self, expr: ast.AST, zero_grad_counts: bool = True) -> bool:
        """The model says `expr` is an optimizer; or it cannot tell, and the file's call shapes show one:
        `expr` goes to an lr_scheduler constructor, or (when `zero_grad_counts`) has `zero_grad()` called."""
        kind = self.model.value(expr).kind
        if kind is Kind.OPTIMIZER:
            return True
        if kind is not Kind.UNKNOWN:
            return False
        return (zero_grad_counts and self.zeroed(expr)) or self.scheduled(expr)

    def optimizer_step(self, statement: ast.stmt, zero_grad_counts: bool = True) -> ast.expr | None:
        """The optimizer a statement steps: `opt.step()`, `scaler.step(opt)` (AMP), else None."""
        call = method_call(statement, "step")
        if call is None or call.keywords:
            return None
        if not call.args and self.is_optimizer(call.func.value, zero_grad_counts):
            return call.func.value
        if len(call.args) == 1 and not isinstance(call.args[0], ast.Starred) and self.is_optimizer(
            call.args[0], zero_grad_counts
        ):
            return call.args[0]
        return None

    def scheduler_step(self, statement: ast.stmt) -> ast.expr | None:
        """`scheduler.step()` with no argument, on what the model knows is an lr_scheduler.
        (`ReduceLROnPlateau.step(metric)` is stepped by epoch with a metric: not ordered here.)"""
        call = method_call(statement, "step")
        if call is None or call.args or call.keywords:
            return None
        receiver = call.func.value
        kind = self.model.value(receiver).kind
        if kind is Kind.SCHEDULER:
            return receiver
        return receiver if kind is Kind.UNKNOWN and self._built_on_optimizer(receiver) else None

    def _built_on_optimizer(self, receiver: ast.expr) -> bool:
        """Evidence from use, where the definitions say nothing: a name bound (once) to a call whose first
        argument is an optimizer, and whose own `step()` takes no argument, while the file never clears its
        gradients: it schedules that optimizer (`WarmupLinearSchedule(optimizer, ...)`,
        `get_cosine_schedule_with_warmup(optimizer, ...)`, an unseen import's class). An optimizer wrapper
        (`Lookahead(optimizer)`) is cleared through `zero_grad()` itself, and is stepped instead of the inner
        optimizer, not before it."""
        if not isinstance(receiver, ast.Name) or self.zeroed(receiver):
            return False
        bindings = self.model.bindings_reaching(receiver.id, receiver) or []
        if len(bindings) != 1 or bindings[0].kind != "assign":
            return False
        value = bindings[0].value
        return (isinstance(value, ast.Call) and bool(value.args) and not isinstance(value.args[0], ast.Starred)
                and self.is_optimizer(value.args[0]))


# --- moving statements -------------------------------------------------------------------------------

def _target_names(target: ast.AST, into: set[str]) -> None:
    while isinstance(target, (ast.Attribute, ast.Subscript, ast.Starred)):
        target = target.value
    if isinstance(target, ast.Name):
        into.add(target.id)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            _target_names(element, into)


def names(model: SemanticModel, statements) -> tuple[set[str], set[str]]:
    """(names read, names written) by `statements`. Every name mentioned counts as read; assignment targets,
    loop and `with` targets, and receivers of in-place methods (`x.add_(1)` writes x) count as written."""
    read: set[str] = set()
    written: set[str] = set()
    for statement in statements:
        for node in own_nodes(statement):
            if isinstance(node, ast.Name):
                read.add(node.id)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    _target_names(target, written)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor, ast.NamedExpr)):
                _target_names(node.target, written)
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                _target_names(node.optional_vars, written)
            elif in_place_method(node) and model.qualified_name(node.func.value) is None:
                _target_names(node.func.value, written)  # `torch.nn.utils.clip_grad_norm_` writes no name
    return read, written


def independent(model: SemanticModel, moved, crossed) -> bool:
    """True when moving `moved` across `crossed` cannot change what either computes: the moved statements
    neither read nor write a name the crossed ones write, nor write a name the crossed ones read."""
    moved_read, moved_written = names(model, moved)
    crossed_read, crossed_written = names(model, crossed)
    return not (moved_read & crossed_written or moved_written & crossed_written or moved_written & crossed_read)


@dataclass(frozen=True)
class Move:
    """Move the statements at `moved` to just after (`after=True`) or just before the statement at `anchor`."""

    moved: tuple[Range, ...]
    anchor: Range
    after: bool


def _alone_on_its_lines(block: list[ast.stmt], index: int) -> bool:
    statement = block[index]
    neighbours = block[index - 1 : index] + block[index + 1 : index + 2]
    return all(n.end_lineno < statement.lineno or n.lineno > statement.end_lineno for n in neighbours)


def plan_move(model: SemanticModel, block: list[ast.stmt], moved: list[int], anchor: int, after: bool) -> Move | None:
    """The move of `block[i] for i in moved` to just after/before `block[anchor]`, or None when it is not
    provably safe (see `independent`) or a statement shares its line with another (`a; b`)."""
    if after:
        crossed = [s for i, s in enumerate(block) if min(moved) < i <= anchor and i not in moved]
    else:
        crossed = [s for i, s in enumerate(block) if anchor <= i < max(moved) and i not in moved]
    if not independent(model, [block[i] for i in moved], crossed):
        return None
    if not all(_alone_on_its_lines(block, i) for i in [*moved, anchor]):
        return None
    return Move(tuple(model.range(block[i]) for i in moved), model.range(block[anchor]), after)


def _statement_at(tree: FixTree, where: Range):
    node = tree.node_at(where, cst.SimpleStatementLine, cst.BaseCompoundStatement)
    if isinstance(node, cst.SimpleStatementLine) and len(node.body) != 1:
        return None
    return node


def build_move(move: Move, tree: FixTree, effect: Effect) -> Fix | None:
    """The LibCST edits of `move` (one Fix shared by every finding of the move). A moved statement keeps its
    comments: the lines above it (leading_lines) and the one after it on its line."""
    cache_key = ("gf4-move", move)
    if cache_key in tree.context.cache:
        return tree.context.cache[cache_key]
    moved = [_statement_at(tree, r) for r in move.moved]
    anchor = _statement_at(tree, move.anchor)
    fix = None
    if anchor is not None and all(m is not None for m in moved):
        replacement = cst.FlattenSentinel([anchor, *moved] if move.after else [*moved, anchor])
        edits = [Edit(s, cst.RemovalSentinel.REMOVE) for s in moved] + [Edit(anchor, replacement)]
        fix = Fix(tuple(edits), Applicability.SAFE, effect)
    tree.context.cache[cache_key] = fix
    return fix


@dataclass(frozen=True)
class Removal:
    """Remove the statement at `statement` (a clear that a later one already does)."""

    statement: Range


def build_removal(removal: Removal, tree: FixTree, effect: Effect) -> Fix | None:
    statement = _statement_at(tree, removal.statement)
    if statement is None:
        return None
    return Fix((Edit(statement, cst.RemovalSentinel.REMOVE),), Applicability.SAFE, effect)


def blocks_around(model: SemanticModel, statements) -> Iterator[list[ast.stmt]]:
    """The distinct blocks that hold `statements`, each once, in source order of their first trigger."""
    seen: set[int] = set()
    for statement in statements:
        block = block_of(model, statement)
        if block is not None and id(block) not in seen:
            seen.add(id(block))
            yield block
