"""In-place writes: found on the semantic model (ast), rewritten out of place on LibCST. Shared by the GF3xx rules.

Detection side: `inplace_writes()` lists every statement that writes in place (`x += y`, `x.mul_(2)`,
`x[m] = 0`, `x[m].zero_()`), once per file; `saved_output()` says whether a tensor is (a view of) the output
of an op that autograd saved for its backward, `saver_of_target()` whether the right side of the write saved
the written tensor, and `input_harm()` whether a caller the file shows is hurt by a forward() writing to
its argument.
Fix side: out-of-place twins with precedence-correct parentheses, clone-before-indexed-write, and the shared
unsafe "under no_grad" fix.
"""
from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

from autofix.fixes import FixTree
from autofix.lazy import libcst as cst
from autofix.rule import Applicability, Edit, Effect, Fix
from autofix.semantic import Grad, Kind, SemanticModel, is_false, is_true, keyword, torch_ops
from codemods._torch import Imports, no_grad_block, scope_chain

# In-place tensor methods with an exact out-of-place twin (same arguments, same result, a new tensor).
OUT_OF_PLACE = {
    m + "_": m
    for m in """add sub mul div clamp clamp_min clamp_max masked_fill pow neg abs exp sqrt relu sigmoid tanh
    scatter scatter_add index_fill index_add masked_scatter addcmul addcdiv floor ceil round lerp sign square""".split()
}
# Trailing-underscore methods that change no values. Kept by hand: torch's schemas mark `requires_grad_`,
# `retain_grad` and `record_stream` as writing to their receiver (`Tensor(a!) self`), but what they write is
# autograd or allocator metadata, never the values a backward pass reads.
NOT_WRITES = frozenset({"requires_grad_", "retain_grad", "share_memory_", "record_stream"})
# In-place methods that exist on tensors (and on nothing common besides): calling one proves the receiver is a
# tensor even where the model cannot tell what it holds. From the torch table: every tensor method that writes
# to its receiver and ends in `_` (nn.Module's `requires_grad_` and `share_memory_` are in NOT_WRITES).
TENSOR_WRITE_METHODS = frozenset(OUT_OF_PLACE) | frozenset(
    m for m in torch_ops.inplace_methods() if m.endswith("_") and m not in NOT_WRITES
)

# --- detection on the semantic model ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class InplaceWrite:
    """One statement that writes in place: `x += y` (augmented), `x.mul_(2)` (method), `x[m] = 0` (subscript)."""

    statement: ast.stmt  # the AugAssign / Assign / Expr statement
    target: ast.expr  # what is written: `x`, `x[m]`, the receiver of `.mul_()`
    base: ast.expr  # the tensor whose memory changes: `target` without its subscripts
    kind: str  # "augmented", "method", "subscript"
    method: str | None = None

    @property
    def name(self) -> str | None:
        """The written name, when the base is a plain name."""
        return self.base.id if isinstance(self.base, ast.Name) else None


def inplace_writes(model: SemanticModel, cache: dict) -> list[InplaceWrite]:
    """Every in-place write statement of the file, in source order; computed once per file and shared by the
    GF3xx rules through `cache` (the rule context's)."""
    key = ("gf3-writes", id(model))
    if key not in cache:
        cache[key] = [w for w in map(_write_of, model.nodes(ast.AugAssign, ast.Assign, ast.Expr)) if w is not None]
    return cache[key]


def _write_of(statement: ast.stmt) -> InplaceWrite | None:
    if isinstance(statement, ast.AugAssign):
        target = statement.target
        if isinstance(target, ast.Name):
            return InplaceWrite(statement, target, target, "augmented")
        if isinstance(target, ast.Subscript):
            return InplaceWrite(statement, target, strip_subscripts(target), "subscript")
        return None
    if isinstance(statement, ast.Assign):
        if len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Subscript):
            target = statement.targets[0]
            return InplaceWrite(statement, target, strip_subscripts(target), "subscript")
        return None
    call = statement.value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
        return None
    method = call.func.attr
    if not method.endswith("_") or method.startswith("_") or method in NOT_WRITES:
        return None
    receiver = call.func.value
    if isinstance(receiver, ast.Subscript):
        return InplaceWrite(statement, receiver, strip_subscripts(receiver), "subscript", method)
    return InplaceWrite(statement, receiver, receiver, "method", method)


def strip_subscripts(expr: ast.expr) -> ast.expr:
    while isinstance(expr, ast.Subscript):
        expr = expr.value
    return expr


def autograd_off(model: SemanticModel, node: ast.AST) -> bool:
    """Autograd is certainly off at `node`: no_grad/inference_mode/set_grad_enabled(False) around it, a
    decorator, or a custom `autograd.Function`'s forward/backward."""
    return model.grad_enabled(node) is False


def carries_no_graph(model: SemanticModel, expr: ast.expr) -> bool:
    """The model knows `expr` requires no grad: detached, made under no_grad, or plain data."""
    return model.value(expr).grad in (Grad.CUT, Grad.OFF, Grad.DATA)


def graph_in_sight(model: SemanticModel, expr: ast.expr, at: ast.AST) -> bool:
    """The file shows that `expr` may carry a graph at `at`: the model knows it requires grad, or the code runs
    in a module's forward pass (a `forward` method, or any method of an `nn.Module` subclass of this file),
    where autograd is on during training. A helper in a post-processing class, with inputs of unknown origin,
    is not in sight: nothing there says a backward pass will ever run through it."""
    if model.value(expr).requires_grad:
        return True
    function = model.function(at)
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    cls = model.enclosing_class(function)
    return cls is not None and (function.name == "forward" or model.is_module_class_def(cls))


# Which ops' backward reads their own output (an in-place write to the output, or to a view of it, makes
# backward() raise "modified by an inplace operation"), which do so only when computed with `inplace=True`
# (ELU, LeakyReLU, SELU, CELU), and which methods return a view: all from the torch table
# (autofix/semantic/torch_ops.json, generated by tools/torch_table.py, which runs each op and writes to its
# result). GELU, SiLU, Mish, Hardswish, Softplus and ReLU6/Hardtanh read their input instead.
# Dtype/device conversions return their receiver itself when nothing changes (`.float()` of a float32 tensor,
# `type_as` of the same type), so a write through them still lands in the saved output. Kept by hand: whether
# one copies depends on the dtype and device at run time, which no single run of torch can tell (the table
# marks `to` and `float` as aliasing, `type_as` and `type` not, though both return their receiver unchanged).
CONVERSIONS = frozenset({"to", "float", "type_as", "type"})


def _view_method(name: str) -> bool:
    """`x.<name>(...)` shares memory with `x` (a write to it is a write to `x`): `view`, `t`, `contiguous`..."""
    return torch_ops.returns_view(torch_ops.method(name)) or name == "detach_"  # detach_ returns its receiver


def saved_output(model: SemanticModel, expr: ast.expr, _depth: int = 0) -> str | None:
    """The op (`softmax`, `ReLU`, ...) whose saved output `expr` is, or a view of; None when it is not, or unknown.

    A name counts only when every binding that reaches it is such an output (an in-place write in between
    stops the trail: the first write is the one to report)."""
    if _depth > 12:
        return None
    if isinstance(expr, ast.Name):
        bindings = model.bindings_reaching(expr.id, expr)
        if not bindings:
            return None
        found = None
        for binding in bindings:
            if binding.kind not in ("assign", "ann", "walrus") or binding.value is None:
                return None
            value = _element_at(binding.value, binding.path)  # `a, b = softmax(x), y` binds a to softmax(x)
            if value is None:
                return None  # unpacked from a call (`torch.topk(...)` returns new tensors)
            found = saved_output(model, value, _depth + 1)
            if found is None:
                return None
        return found
    if isinstance(expr, ast.Subscript):
        return saved_output(model, expr.value, _depth + 1) if basic_index(expr.slice) else None
    if isinstance(expr, ast.Attribute) and expr.attr in ("T", "mT"):
        return saved_output(model, expr.value, _depth + 1)
    if not isinstance(expr, ast.Call):
        return None
    func = expr.func
    qualified = model.qualified_name(func)
    if qualified is not None:
        short = qualified.rsplit(".", 1)[-1]
        if torch_ops.function_saves_output(qualified):
            return short
        if torch_ops.function_saves_output(qualified, inplace=True) and is_true(keyword(expr, "inplace")):
            return short
        return None
    callee = model.value(func)
    if callee.kind is Kind.MODULE:
        if torch_ops.module_saves_output(callee.cls):
            return callee.cls.rsplit(".", 1)[-1]
        if torch_ops.module_saves_output(callee.cls, inplace=True) and _constructed_inplace(model, func):
            return callee.cls.rsplit(".", 1)[-1]
        return None
    if isinstance(func, ast.Attribute):
        receiver = model.value(func.value)
        if receiver.kind in (Kind.MODULE, Kind.OBJECT, Kind.CONTAINER, Kind.OPTIMIZER, Kind.SCHEDULER):
            return None
        if torch_ops.saves_output(torch_ops.method(func.attr)):
            return func.attr  # a tensor method: `x.softmax(-1)`, `x.sigmoid()` (no other common type has these)
        if _view_method(func.attr) or func.attr in CONVERSIONS:
            return saved_output(model, func.value, _depth + 1)
    return None


def _element_at(value: ast.expr, path: tuple[int, ...]) -> ast.expr | None:
    for index in path:
        if not isinstance(value, (ast.Tuple, ast.List)) or index >= len(value.elts) or any(
            isinstance(e, ast.Starred) for e in value.elts
        ):
            return None
        value = value.elts[index]
    return value


def _constructed_inplace(model: SemanticModel, module: ast.expr) -> bool:
    """Every construction of the module that `module` names passes `inplace=True`."""
    values = constructions(model, module)
    return bool(values) and all(isinstance(v, ast.Call) and is_true(keyword(v, "inplace")) for v in values)


def constructions(model: SemanticModel, module: ast.expr) -> list:
    """What the module that `module` names was built from: the values bound to a local name, or every
    `self.<attr> = ...` of the class for `self.<attr>`."""
    if isinstance(module, ast.Name):
        return [b.value for b in model.bindings_reaching(module.id, module) or ()]
    if isinstance(module, ast.Attribute) and isinstance(module.value, ast.Name):
        function = model.function(module)
        cls = model.enclosing_class(function) if function is not None else None
        return [value for value, _ in model.class_attribute(cls, module.attr)] if cls is not None else []
    return []


def basic_index(index: ast.expr) -> bool:
    """Indexing with slices, integers, None and `...` only: the result is a view (tensor indices copy)."""
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    for part in parts:
        if isinstance(part, ast.Slice):
            continue
        if isinstance(part, ast.Constant) and (part.value is None or part.value is Ellipsis or type(part.value) is int):
            continue
        if isinstance(part, ast.UnaryOp) and isinstance(part.op, ast.USub) and isinstance(part.operand, ast.Constant):
            continue
        return False
    return True


# --- fix building on LibCST -----------------------------------------------------------------------------

@functools.cache
def _augmented() -> dict:
    """Augmented assignment -> (its binary operator, that operator's precedence); built when a fix first needs it."""
    return {
        cst.AddAssign: (cst.Add, 2),
        cst.SubtractAssign: (cst.Subtract, 2),
        cst.MultiplyAssign: (cst.Multiply, 3),
        cst.DivideAssign: (cst.Divide, 3),
        cst.FloorDivideAssign: (cst.FloorDivide, 3),
        cst.ModuloAssign: (cst.Modulo, 3),
        cst.MatrixMultiplyAssign: (cst.MatrixMultiply, 3),
        cst.PowerAssign: (cst.Power, 4),
    }


@functools.cache
def _precedence() -> dict:
    return {
        cst.Add: 2, cst.Subtract: 2, cst.Multiply: 3, cst.Divide: 3, cst.FloorDivide: 3, cst.Modulo: 3,
        cst.MatrixMultiply: 3, cst.Power: 4,
    }


_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.MatMult, ast.Pow)


def has_out_of_place_twin(write: InplaceWrite) -> bool:
    """An exact out-of-place rewrite exists: `x += y` -> `x = x + y`, `x.clamp_(0)` -> `x = x.clamp(0)`."""
    if write.name is None:
        return False
    if write.kind == "augmented":
        return isinstance(write.statement.op, _ARITHMETIC)
    return write.kind == "method" and write.method in OUT_OF_PLACE


def written_statement(finding, tree: FixTree):
    """The LibCST small statement at a finding's range (the rules report the write statement itself)."""
    return tree.node_at(finding.range, cst.AugAssign, cst.Assign, cst.Expr)


def out_of_place(small: cst.BaseSmallStatement) -> cst.BaseSmallStatement | None:
    """`x += y` -> `x = x + y`; `x.clamp_(0)` -> `x = x.clamp(0)`; None when there is no exact twin."""
    if isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name):
        operator, precedence = _augmented().get(type(small.operator), (None, None))
        if operator is None:
            return None
        right = _parenthesised(small.value, precedence)
        value = cst.BinaryOperation(left=cst.Name(small.target.value), operator=operator(), right=right)
        return cst.Assign(targets=[cst.AssignTarget(cst.Name(small.target.value))], value=value)
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and isinstance(small.value.func, cst.Attribute):
        call = small.value
        receiver = call.func.value
        if isinstance(receiver, cst.Name) and call.func.attr.value in OUT_OF_PLACE:
            new_call = call.with_changes(func=call.func.with_changes(attr=cst.Name(OUT_OF_PLACE[call.func.attr.value])))
            return cst.Assign(targets=[cst.AssignTarget(cst.Name(receiver.value))], value=new_call)
    return None


def subscript_base_name(small: cst.BaseSmallStatement) -> str | None:
    """`x` for `x[m] = v`, `x[m] += v`, `x[m].zero_()`."""
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
    elif isinstance(small, cst.AugAssign):
        target = small.target
    elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and isinstance(small.value.func, cst.Attribute):
        target = small.value.func.value
    else:
        return None
    if not isinstance(target, cst.Subscript):
        return None
    while isinstance(target, cst.Subscript):
        target = target.value
    return target.value if isinstance(target, cst.Name) else None


def out_of_place_fix(small: cst.BaseSmallStatement, tree: FixTree) -> Fix | None:
    """Rebind out of place, or, for an indexed write, put `x = x.clone()` before it (one allocation either way)."""
    replacement = out_of_place(small)
    if replacement is not None:
        return Fix((Edit(small, replacement),), Applicability.SAFE, Effect.REPAIRING)
    name = subscript_base_name(small)
    line = tree.parent(small)
    if name is None or not isinstance(line, cst.SimpleStatementLine):
        return None
    clone = cst.Call(func=cst.Attribute(cst.Name(name), cst.Name("clone")))
    first = cst.SimpleStatementLine(body=[cst.Assign(targets=[cst.AssignTarget(cst.Name(name))], value=clone)],
                                    leading_lines=line.leading_lines)
    return Fix((Edit(line, cst.FlattenSentinel([first, line.with_changes(leading_lines=())])),),
               Applicability.SAFE, Effect.REPAIRING)


def _parenthesised(expr, precedence: int):
    needs = isinstance(expr, (cst.BooleanOperation, cst.Comparison, cst.IfExp, cst.Lambda)) or (
        isinstance(expr, cst.BinaryOperation) and _precedence().get(type(expr.operator), 0) <= precedence
    )
    if needs and not expr.lpar:
        return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return expr


def no_grad_fix(finding, tree: FixTree) -> Fix | None:
    """Unsafe fix: the written statement under `with torch.no_grad():` (the write then keeps the tensor a leaf)."""
    small = written_statement(finding, tree)
    line = tree.parent(small) if small is not None else None
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    block, imports = no_grad_block(
        Imports.of(tree.module, tree.context.cache), scope_chain(line, tree.parent), [line.with_changes(leading_lines=())],
        line.leading_lines,
    )
    return Fix((Edit(line, block),), Applicability.UNSAFE, Effect.REPAIRING, imports)


# --- who calls a module's forward, and what they pass (GF301) -----------------------------------------------

@dataclass(frozen=True)
class Harm:
    """What an in-place write to a forward() argument does to a caller the file shows."""

    line: int  # the caller's line
    reason: str  # "reads `x` again at line 40", ...


def module_calls(model: SemanticModel, cache: dict) -> dict[str, list[ast.Call]]:
    """Calls of instances of this file's module classes, by class name: `self.encoder(h)`, `layer(h)` for a layer
    of an `nn.ModuleList`, `model(x)`, `m.forward(x)`. An attribute the class assigns in branches
    (`self.encoder = A(c) if stable else B(c)`) counts as a call of each. Computed once per file."""
    key = ("gf3-module-calls", id(model))
    if key not in cache:
        grouped: dict[str, list[ast.Call]] = {}
        for call in model.nodes(ast.Call):
            func = call.func
            owner = func.value if isinstance(func, ast.Attribute) and func.attr == "forward" else func
            if isinstance(owner, (ast.Name, ast.Attribute, ast.Subscript, ast.Call)):
                for name in _local_module_classes(model, owner):
                    grouped.setdefault(name, []).append(call)
        cache[key] = grouped
    return cache[key]


_LOCAL = "<local>."


def _local_module_classes(model: SemanticModel, owner: ast.expr) -> set[str]:
    value = model.value(owner)
    if value.kind is Kind.MODULE and value.cls and value.cls.startswith(_LOCAL):
        return {value.cls[len(_LOCAL):]}
    if value.kind not in (Kind.MODULE, Kind.UNKNOWN) or not isinstance(owner, ast.Attribute):
        return set()
    # A join of several classes: look at each assignment of `self.<attr>` (and each arm of a conditional).
    function = model.function(owner)
    cls = model.enclosing_class(function) if function is not None else None
    if cls is None or not (isinstance(owner.value, ast.Name) and owner.value.id == "self"):
        return set()
    found = set()
    for assigned, _ in model.class_attribute(cls, owner.attr):
        for arm in (assigned.body, assigned.orelse) if isinstance(assigned, ast.IfExp) else (assigned,):
            if arm is None:
                continue
            each = model.value(arm)
            if each.kind is Kind.MODULE and each.cls and each.cls.startswith(_LOCAL):
                found.add(each.cls[len(_LOCAL):])
    return found


def forward_callers(model: SemanticModel, forward: ast.FunctionDef, cache: dict) -> list[ast.Call]:
    """The calls in this file that run `forward` (a method of a module class, or inherited by one)."""
    calls = module_calls(model, cache)
    found: list[ast.Call] = []
    for cls in model.nodes(ast.ClassDef):
        if cls.name in calls and _forward_of(model, cls) is forward:
            found.extend(calls[cls.name])
    return found


def _forward_of(model: SemanticModel, cls: ast.ClassDef, depth: int = 0):
    for statement in cls.body:
        if isinstance(statement, ast.FunctionDef) and statement.name == "forward":
            return statement
    if depth < 5:
        for base in cls.bases:
            local = model.local_class(base)
            if local is not None and local is not cls:
                found = _forward_of(model, local, depth + 1)
                if found is not None:
                    return found
    return None


def argument_for(call: ast.Call, forward: ast.FunctionDef, name: str) -> ast.expr | None:
    """The expression `call` passes for `forward`'s parameter `name` (None when passed by `*`/`**` or not at all)."""
    positional = [a.arg for a in (*forward.args.posonlyargs, *forward.args.args)][1:]  # without self
    if name in positional:
        index = positional.index(name)
        before = call.args[: index + 1]
        if any(isinstance(a, ast.Starred) for a in before):
            return None
        if index < len(call.args):
            return call.args[index]
    for keyword_argument in call.keywords:
        if keyword_argument.arg == name:
            return keyword_argument.value
    return None


def input_harm(model: SemanticModel, forward: ast.FunctionDef, name: str, cache: dict, tensor: bool,
               depth: int = 0) -> Harm | bool | None:
    """Does an in-place write to `forward`'s argument `name` hurt a caller this file shows?

    A Harm when one caller reads the tensor again, passes the same tensor on every turn of a loop, passes a
    leaf that requires grad or an output autograd saved, or passes state kept on `self`. False when the file
    shows callers and every one passes a fresh intermediate it never reads again (or no tensor). None when
    the file shows no caller, or only callers that pass their own argument on to a caller it does not show.
    `tensor` says the argument is known to be a tensor (else a caller must pass something known to be one)."""
    calls = forward_callers(model, forward, cache)
    if not calls:
        return None
    unknown = False
    for call in calls:
        argument = argument_for(call, forward, name)
        if argument is None:
            continue
        harm = _argument_harm(model, call, argument, cache, tensor, depth)
        if isinstance(harm, Harm):
            return harm
        unknown = unknown or harm is None
    return None if unknown else False


def _argument_harm(model: SemanticModel, call: ast.Call, argument: ast.expr, cache: dict, tensor: bool,
                   depth: int) -> Harm | bool | None:
    value = model.value(argument)
    if value.kind in (Kind.OBJECT, Kind.CONTAINER, Kind.MODULE, Kind.OPTIMIZER, Kind.SCHEDULER):
        return False
    if value.is_tensor and value.grad is Grad.LEAF:
        return Harm(call.lineno, f"the caller at line {call.lineno} passes a leaf that requires grad: the write raises")
    if not (tensor or value.is_tensor):
        return None  # what it passes may not be a tensor at all (`x += 1` on an int rebinds)
    if saved_output(model, argument) is not None:
        return Harm(call.lineno, f"the caller at line {call.lineno} passes an output autograd saved: backward() raises")
    if isinstance(argument, ast.Attribute) and isinstance(argument.value, ast.Name) and argument.value.id == "self":
        return Harm(call.lineno, f"the caller at line {call.lineno} passes `{model.source(argument)}`, kept between calls")
    if not isinstance(argument, ast.Name):
        return False  # a fresh intermediate: nothing else holds it
    bindings = model.bindings_reaching(argument.id, argument) or []
    reader = _read_again(model, argument, call, bindings, cache)
    if reader is not None:
        return Harm(call.lineno, f"the caller at line {call.lineno} reads `{argument.id}` again at line {reader}")
    loop = next(iter(model.enclosing_loops(call)), None)
    if loop is not None and bindings and not any(model.is_inside(b.node, loop) for b in bindings):
        return Harm(call.lineno, f"the caller at line {call.lineno} passes the same `{argument.id}` on every turn "
                                 f"of the loop at line {loop.lineno}")
    if any(b.kind == "param" for b in bindings):
        # The caller's own argument: the write reaches the caller's caller.
        caller = model.function(call)
        if depth >= 3 or not (isinstance(caller, ast.FunctionDef) and caller.name == "forward"):
            return None
        return input_harm(model, caller, argument.id, cache, tensor or value.is_tensor, depth + 1)
    return False


def _read_again(model: SemanticModel, argument: ast.Name, call: ast.Call, bindings, cache: dict) -> int | None:
    """The line of a later read of the same tensor, if any: a read of the name after the call, reached by the
    binding that was passed, before a statement after the call (in the call's own block) rebinds the name."""
    caller = model.function(call)
    end = (call.end_lineno or call.lineno, call.end_col_offset or 0)
    killed = _rebound_after(model, call, argument.id)
    ids = {id(b) for b in bindings}
    for name in _names_in(model, caller, argument.id, cache):
        where = (name.lineno, name.col_offset)
        if not isinstance(name.ctx, ast.Load) or where < end or (killed is not None and where > killed):
            continue
        if _reads_metadata_only(model, name):
            continue  # `x.shape`, `x.size()`, `x.device`: the values that changed are not read
        if caller is None or any(id(b) in ids for b in model.bindings_reaching(name.id, name) or ()):
            return name.lineno
    return None


_METADATA = frozenset({"shape", "dtype", "device", "ndim", "is_cuda", "layout", "size", "dim", "numel",
                       "requires_grad", "is_leaf", "stride", "is_contiguous"})


def _reads_metadata_only(model: SemanticModel, name: ast.Name) -> bool:
    parent = model.parent(name)
    return isinstance(parent, ast.Attribute) and parent.value is name and parent.attr in _METADATA


def _rebound_after(model: SemanticModel, call: ast.Call, identifier: str) -> tuple[int, int] | None:
    """Where the first statement from the call's own onwards, in the call's block, rebinds `identifier`
    (`h = layer(h)`, or `h = outputs[0]` on the next line): every path from the call passes through it."""
    statement = model.statement(call)
    container = model.parent(statement)
    for _, siblings in ast.iter_fields(container):
        if isinstance(siblings, list) and any(s is statement for s in siblings):
            break
    else:
        return None
    for sibling in siblings[siblings.index(statement):]:
        if isinstance(sibling, (ast.Assign, ast.AnnAssign)):
            targets = sibling.targets if isinstance(sibling, ast.Assign) else [sibling.target]
            if any(identifier in _bound_names(t) for t in targets):
                return (sibling.end_lineno or sibling.lineno, sibling.end_col_offset or 0)
        elif not isinstance(sibling, (ast.Expr, ast.AugAssign, ast.Assert, ast.Pass)):
            return None  # a branch, loop or jump: the rebinding may be skipped
    return None


def _bound_names(target: ast.expr) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(_bound_names(e) for e in target.elts)) if target.elts else set()
    if isinstance(target, ast.Starred):
        return _bound_names(target.value)
    return set()


def _names_in(model: SemanticModel, function, identifier: str, cache: dict) -> list[ast.Name]:
    """The `identifier` names used directly in `function` (None: module level), indexed once per file."""
    key = ("gf3-names", id(model))
    if key not in cache:
        index: dict[tuple[int, str], list[ast.Name]] = {}
        for name in model.nodes(ast.Name):
            function_of = model.function(name)
            index.setdefault((id(function_of) if function_of is not None else 0, name.id), []).append(name)
        cache[key] = index
    return cache[key].get((id(function) if function is not None else 0, identifier), [])


# --- the right side of an in-place write saved the written tensor (`x += conv(x)`) --------------------------

# Which layers and functions save their input for backward, from the torch table (each observed: an in-place
# write to the input after the call makes backward() raise): layers with weights whose gradient needs the input,
# even when the input itself requires no grad (Linear, Conv*, affine norms, RNN cells), and layers and functions
# that save it for the input's own gradient (GELU, SiLU, LayerNorm, pooling; sin, gelu, linear, matmul, norm).
# Kept by hand, because the table's argument patterns cannot call them: nn.Bilinear (two inputs), einsum (an
# equation first), batch_norm (running statistics) and conv3d / the transposed convolutions (shapes).
_UNOBSERVED_WEIGHTED_SAVERS = frozenset({"torch.nn.Bilinear"})
_UNOBSERVED_INPUT_SAVERS = frozenset(
    {"torch.einsum", "torch.nn.functional.batch_norm", "torch.nn.functional.conv3d",
     "torch.nn.functional.conv_transpose1d", "torch.nn.functional.conv_transpose2d",
     "torch.nn.functional.conv_transpose3d"}
)


def _weights_save_input(cls: str | None) -> bool:
    return torch_ops.module_weights_save_input(cls) or cls in _UNOBSERVED_WEIGHTED_SAVERS


def _function_saves_input(qualified: str | None) -> bool:
    return torch_ops.function_saves_input(qualified) or qualified in _UNOBSERVED_INPUT_SAVERS


def saver_of_target(model: SemanticModel, write: InplaceWrite) -> ast.expr | None:
    """For `x += conv(x)` / `x += mlp(norm(x))` / `x.add_(x @ w)`: the call on the right side that saved `x` for
    backward (so the in-place write makes backward() raise), or None."""
    if write.name is None or write.kind == "subscript":
        return None
    statement = write.statement
    right = [statement.value] if isinstance(statement, ast.AugAssign) else list(statement.value.args)
    for node in (n for part in right for n in ast.walk(part)):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            operands = (node.left, node.right)
            if _is_same_name(operands, write.name) and _needs_saved(model, node, write, weighted=False):
                return node
        if not isinstance(node, ast.Call) or not _is_same_name(node.args, write.name):
            continue
        qualified = model.qualified_name(node.func)
        if _function_saves_input(qualified):
            if _needs_saved(model, node, write, weighted=False):
                return node
            continue
        callee = model.value(node.func)
        if callee.kind is Kind.MODULE and _weights_save_input(callee.cls) and not _built_without_weights(model, node.func):
            if _needs_saved(model, node, write, weighted=True):
                return node
        elif callee.kind is Kind.MODULE and (torch_ops.module_saves_input(callee.cls) or _weights_save_input(callee.cls)):
            if _needs_saved(model, node, write, weighted=False):
                return node
    return None


def _is_same_name(arguments, identifier: str) -> bool:
    return any(isinstance(a, ast.Name) and a.id == identifier for a in arguments)


def _needs_saved(model: SemanticModel, saver: ast.expr, write: InplaceWrite, weighted: bool) -> bool:
    """Autograd keeps what `saver` saved: a weighted layer always does (its weight requires grad); otherwise
    the written tensor, or another operand, must be in a graph the file shows. A written tensor that the model
    knows carries no graph (`torch.randn(n)` in a module's helper, then `x -= torch.min(x)`) is not in one,
    wherever the code runs."""
    if weighted:
        return graph_in_sight(model, saver, write.statement)
    others = [a for a in (saver.args if isinstance(saver, ast.Call) else (saver.left, saver.right))
              if not (isinstance(a, ast.Name) and a.id == write.name)]
    written_in_graph = not carries_no_graph(model, write.base) and graph_in_sight(model, write.base, write.statement)
    return written_in_graph or any(model.value(o).requires_grad for o in others)


def _built_without_weights(model: SemanticModel, module: ast.expr) -> bool:
    """`nn.LayerNorm(d, elementwise_affine=False)` / `nn.BatchNorm1d(c, affine=False)`: no trainable weight."""
    return any(
        isinstance(v, ast.Call) and any(is_false(keyword(v, name)) for name in ("elementwise_affine", "affine"))
        for v in constructions(model, module)
    )
