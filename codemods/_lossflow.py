"""Where does the tensor given to backward() come from? A small abstract interpretation for the GF2xx rules.

Only functions (and the module's top level) that contain a backward trigger are walked: `x.backward()`,
`scaler.scale(loss).backward()`, `accelerator.backward(loss)`, `self.manual_backward(loss)`,
`torch.autograd.backward/grad(...)`. Each is walked statement by statement, flow-sensitively (branches
merged, loops walked twice so that what one iteration binds reaches the next), on CPython's `ast`. Every
name holds a `Flow`:

- CONNECTED: may carry a graph to trainable state. A call to anything that may own parameters
  (`model(x)`, `self.head(h)`, a function the file does not show), a function parameter, a module attribute
  the semantic model does not know to be plain data, a leaf created with `requires_grad=True`.
- UNKNOWN: no evidence of a graph: data and labels (loop variables, constants, plain data the semantic
  model knows, a loss's target).
- CUT: certainly no graph: `.detach()`, `.data`, `.item()`, `argmax`, a re-wrap into a new leaf,
  anything computed under `torch.no_grad()`.

Pure operations (tensor methods, `torch.*` and `F.*` functions, loss functions, arithmetic) combine their
inputs: CONNECTED wins, then UNKNOWN, then CUT. A backward receiver is reported only when nothing
CONNECTED survives and either it is CUT outright or one of its cuts severed a CONNECTED value: that
is "no path from the loss to a trainable tensor". GAN discriminator steps (`D(fake.detach())`),
RL targets, distillation teachers and truncated BPTT keep a CONNECTED path and are never reported.

The semantic model answers what the walk cannot see locally: imports (`model.qualified_name`), where
autograd is switched off (`model.disables_grad`), what a parameter's annotation or a `self.x` attribute
holds, loss modules (`self.criterion = nn.CrossEntropyLoss()`), and calls whose result is plain data
(`x.size(0)`, `len(...)`).

One convention stands in for what a file cannot show: a loss's target (the second argument of
`F.cross_entropy(input, target)`, of an `nn.*Loss` module, or `target=`) is ground truth, so a bare function
parameter given there counts as data. A loss function is known by what it is (an import, an `nn.*Loss`
module, a parameter whose call sites pass one), never by its name: an unknown callable may own parameters.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from autofix.rule import AllOf
from autofix.semantic import (
    FUNCTIONS, Grad, Kind, SemanticModel, dotted, is_false, is_optimizer_class, is_true, keyword, torch_ops,
)

CONNECTED, UNKNOWN, CUT = 2, 1, 0

# Cuts whose removal restores the graph (GF201 can fix them); the others are not differentiable at all.
REMOVABLE = frozenset({"detach", "data"})
# Cuts that leave the tensor world (Python or numpy values, and a transformers model's `generate`, whose token
# ids carry no graph). Kept by hand: the table says what these return, not that the result is a loss's value.
# Integer and boolean results (`argmax`, `long`, `eq`, `nonzero`, ...) are cuts too: that, the torch table says.
_METHOD_CUTS = {"detach": "detach", "item": "item", "tolist": "tolist", "numpy": "numpy", "generate": "generate"}


def _integer_method(method: str) -> bool:
    """`x.<method>(...)` returns an integer or boolean tensor (torch table): no gradient can flow through it."""
    return torch_ops.integer_result(torch_ops.method(method))


def _pure_method(method: str) -> bool:
    """A tensor method that is a differentiable function of its receiver and arguments (torch table); in-place
    methods are their own business (the receiver changes)."""
    name = torch_ops.method(method)
    return torch_ops.differentiable(name) is True and not torch_ops.is_inplace(name)


# Methods whose arguments are shapes, devices, dtypes, dims or indices: only the receiver carries a graph.
# Kept by hand: a schema types `gather`'s index and `clamp`'s bounds as tensors like any other, so what each
# argument means is a judgement torch does not state.
_RECEIVER_ONLY = frozenset(
    """to cuda cpu type float double half bfloat16 view reshape permute transpose flatten squeeze unsqueeze expand
    repeat chunk split narrow select sum mean max min std var norm softmax log_softmax contiguous clamp clip t flip
    roll diagonal trace cumsum unbind index_select gather prod logsumexp nansum nanmean""".split()
)
# Modules whose functions compute on plain data: they never return something with a graph.
_DATA_MODULES = frozenset(
    {"os", "sys", "math", "random", "numpy", "time", "json", "itertools", "functools", "collections", "pathlib",
     "re", "string", "logging", "warnings", "pickle", "argparse", "statistics", "datetime"}
)
_FACTORIES = frozenset(
    """zeros ones randn rand randint empty full arange linspace eye zeros_like ones_like randn_like rand_like
    empty_like full_like normal""".split()
)
# Calls that copy their first argument into a new tensor with no history (checked on torch 2.13:
# `torch.tensor(t)` and `Variable(t)` return a tensor without grad_fn, with or without requires_grad=True).
# `torch.as_tensor(t)` and `torch.Tensor(t)` are not among them: they keep the graph.
REWRAPS = frozenset({"torch.tensor", "torch.autograd.Variable", "torch.autograd.variable.Variable"})
# torch.nn.functional losses whose second argument is the target.
_LOSS_FUNCTION = re.compile(
    r"^torch\.nn\.functional\.(cross_entropy|binary_cross_entropy|binary_cross_entropy_with_logits|kl_div|nll_loss"
    r"|mse_loss|l1_loss|smooth_l1_loss|huber_loss|soft_margin_loss|multilabel_soft_margin_loss|multi_margin_loss"
    r"|multilabel_margin_loss|poisson_nll_loss|gaussian_nll_loss|hinge_embedding_loss|ctc_loss)$"
)
_LOSS_MODULE = re.compile(r"^torch\.nn\.(modules\.loss\.)?\w+Loss$")
# Loss modules whose second argument is another input, not a target.
_TWO_INPUT_LOSS = re.compile(r"(Triplet|MarginRanking|CosineEmbedding)")
_TARGET_KEYWORDS = frozenset({"target", "targets", "label", "labels"})
# What a file must contain to have a backward trigger (sound: `torch.autograd.grad` is spelled with
# "autograd" however it is imported; every backward method call contains "backward(").
TRIGGER_TEXT = r"backward\s*\(|autograd"
# What a file must contain to ask for a leaf the way a patch does (`requires_grad=True`, `requires_grad_(`).
PATCH_TEXT = r"requires_grad(_\s*\(|\s*=\s*True)"


def prefilter_with(pattern: str) -> AllOf:
    """A prefilter for a rule that needs a backward trigger and `pattern` somewhere in the file."""
    return AllOf(TRIGGER_TEXT, pattern)


# Whose return value is trained on by protocol: nn.Module.forward (its caller's loss is built from it), and
# LightningModule.training_step (Lightning backpropagates the loss it returns).
_LIGHTNING_MODULES = frozenset({
    "pytorch_lightning.LightningModule", "lightning.LightningModule", "lightning.pytorch.LightningModule",
    "pytorch_lightning.core.LightningModule", "pytorch_lightning.core.module.LightningModule",
    "lightning.pytorch.core.LightningModule", "lightning.pytorch.core.module.LightningModule",
})


@dataclass(frozen=True)
class Cut:
    kind: str  # "detach", "data", "item", "argmax", ..., "rewrap", "no_grad"
    node: ast.AST  # the cutting expression (or the `with` statement / decorator for no_grad)
    inner: "Flow"  # what flowed into the cut
    inner_expr: ast.expr | None  # the expression that still had its graph (what a fix restores)
    computed_here: bool  # inner_expr is computation in this scope, not a bare parameter or global
    statement: ast.stmt | None = None  # the statement holding the cut


@dataclass(frozen=True)
class Flow:
    state: int
    cuts: tuple[Cut, ...] = ()
    patches: tuple[ast.stmt, ...] = ()  # `x.requires_grad = True` / `x.requires_grad_()` applied on the way
    loss: bool = False  # computed by a loss function (`F.cross_entropy`, an `nn.*Loss`, a `criterion`)


NOTHING = Flow(UNKNOWN)
GRAPH = Flow(CONNECTED)
PARAMETER = Flow(CONNECTED)  # a function parameter: CONNECTED, but not computed in this scope


def combine(*values: Flow) -> Flow:
    if not values:
        return NOTHING
    if len(values) == 1:
        return values[0]
    cuts: dict[int, Cut] = {}
    patches: dict[int, ast.stmt] = {}
    for value in values:
        for cut in value.cuts:
            cuts.setdefault(id(cut.node), cut)
        for patch in value.patches:
            patches.setdefault(id(patch), patch)
    return Flow(max(v.state for v in values), tuple(cuts.values()), tuple(patches.values()), any(v.loss for v in values))


def carries_graph(value: Flow) -> bool:
    """`value` has, or was cut from, something with a graph (through any chain of cuts), or is a loss."""
    return value.state == CONNECTED or value.loss or any(carries_graph(c.inner) for c in value.cuts)


@dataclass(frozen=True)
class Problem:
    """One reason a backward receiver has no path to trainable state."""

    cut: Cut
    backward: ast.AST  # the backward call it reaches (or the `return` statement, when `returned`)
    patches: tuple[ast.stmt, ...]  # requires_grad patches on the way (a fix would make them raise)
    returned: bool = False  # a function with no backward() returns the value (to a caller that trains on it)

    @property
    def where(self) -> str:
        if self.returned:
            return f"the value returned at line {self.backward.lineno}"
        return f"the loss given to backward() at line {self.backward.lineno}"


@dataclass
class LossFlow:
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def of(cls, model: SemanticModel, cache: dict) -> "LossFlow":
        """The analysis of the file, computed once per pass and shared by the GF2xx rules."""
        key = ("lossflow", id(model))
        if key not in cache:
            cache[key] = _analyse(model)
        return cache[key]


def backward_calls(model: SemanticModel) -> list[ast.Call]:
    """Every backward trigger of the file: `.backward(...)`, `.manual_backward(...)`, `torch.autograd.backward/grad`,
    in source order (computed once per file)."""
    known = model.derived.get("backward_calls")
    if known is not None:
        return known
    found = []
    for call in model.nodes(ast.Call):
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in ("backward", "manual_backward"):
            if isinstance(func, ast.Attribute) or model.qualified_name(func) == "torch.autograd.backward":
                found.append(call)
        elif name == "grad" and model.qualified_name(func) == "torch.autograd.grad":
            found.append(call)
    model.derived["backward_calls"] = found
    return found


def patched_leaves(model: SemanticModel) -> list[ast.AST]:
    """Where the file asks for a leaf that requires grad the way a patch does: `torch.tensor(x, requires_grad=True)`,
    `Variable(x, requires_grad=True)`, `x.requires_grad_()`, `x.requires_grad = True`."""
    found: list[ast.AST] = []
    for call in model.nodes(ast.Call):
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name == "requires_grad_":
            if _requires_grad_true(call):
                found.append(call)
        elif name in ("tensor", "Variable") and is_true(keyword(call, "requires_grad")):
            if model.qualified_name(func) in REWRAPS:
                found.append(call)
    for assign in model.nodes(ast.Assign):
        if _is_requires_grad_patch(assign):
            found.append(assign)
    return found


def _analyse(model: SemanticModel) -> LossFlow:
    flow = LossFlow()
    scopes: dict[int, ast.AST] = {}
    for call in backward_calls(model):
        function = model.function(call)
        if isinstance(function, ast.Lambda):
            continue
        scope = function if function is not None else model.tree
        scopes.setdefault(id(scope), scope)
    # Functions without a backward() that return a patched leaf: their caller trains on what they return.
    returning: dict[int, ast.AST] = {}
    for node in patched_leaves(model):
        function = model.function(node)
        if isinstance(function, FUNCTIONS) and id(function) not in scopes and model.grad_enabled(node) is not False:
            returning.setdefault(id(function), function)
    seen: set[tuple[int, str]] = set()
    for strict, group in ((False, scopes), (True, returning)):
        for scope in group.values():
            _walk_scope(model, scope, strict, flow, seen)
    flow.problems.sort(key=lambda p: (p.cut.node.lineno, p.cut.node.col_offset))
    return flow


def _walk_scope(model: SemanticModel, scope: ast.AST, strict: bool, flow: LossFlow, seen: set) -> None:
    no_grad = None
    env: dict[str, Flow] = {}
    if isinstance(scope, FUNCTIONS):
        no_grad = next((d for d in scope.decorator_list if model.disables_grad(d)), None)
        for arg in _arguments(scope):
            # Checking what a function returns, only evidence counts: a parameter whose call sites pass a value
            # that requires grad.
            env[arg.arg] = (GRAPH if model.parameter_value(arg).requires_grad else NOTHING) if strict \
                else _parameter_flow(model, arg)
    walker = _Walker(model, no_grad, strict, _trained_on_by_protocol(model, scope))
    walker.walk(scope.body, env)
    for problem in walker.problems:
        if problem.cut.kind == "rewrap" and _trained_leaf(model, problem.cut, scope):
            continue
        key = (id(problem.cut.node), problem.cut.kind)
        if key not in seen:
            seen.add(key)
            flow.problems.append(problem)


def _trained_on_by_protocol(model: SemanticModel, scope: ast.AST) -> bool:
    """What `scope` returns is trained on: a module's `forward`, a LightningModule's `training_step` (known by
    their classes, not their names alone), or a function of this file whose result reaches a backward() at one
    of its call sites (`loss = self.compute(model, x); loss.backward()`)."""
    if not isinstance(scope, FUNCTIONS):
        return False
    cls = model.enclosing_class(scope)
    if cls is not None and scope.name == "forward" and model.is_module_class_def(cls):
        return True
    if cls is not None and scope.name == "training_step" and model.class_extends(cls, _LIGHTNING_MODULES):
        return True
    return _returns_to_backward(model, scope)


def _returns_to_backward(model: SemanticModel, function: ast.AST) -> bool:
    """Some call of `function` in this file is trained on: `f(...).backward()`, or `loss = f(...)` and then
    `loss.backward()` / `backward(loss)` (`manual_backward`, `accelerator.backward`) in the same function."""
    for call in model.calls_named(function.name):
        if model.callee(call) is not function:
            continue
        parent = model.parent(call)
        if isinstance(parent, ast.Attribute) and parent.attr == "backward":
            return True
        if not (isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name)):
            continue
        bound, where = parent.targets[0].id, model.function(call)
        for trigger in backward_calls(model):
            if model.function(trigger) is not where:
                continue
            receiver = trigger.func.value if isinstance(trigger.func, ast.Attribute) else None
            given = [*trigger.args, *(k.value for k in trigger.keywords)]
            if any(isinstance(e, ast.Name) and e.id == bound for e in [receiver, *given]):
                return True
    return False


def _trained_leaf(model: SemanticModel, cut: Cut, scope: ast.AST) -> bool:
    """The new leaf is what the function optimises (input gradients, an adversarial example, a latent): the
    function reads its `.grad`, or gives it to an optimizer."""
    statement = cut.statement
    if not (isinstance(statement, ast.Assign) and statement.value is cut.node and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)):
        return False
    leaf = statement.targets[0].id
    for node in ast.walk(scope):
        if isinstance(node, ast.Attribute) and node.attr == "grad" and isinstance(node.value, ast.Name) and (
            node.value.id == leaf
        ):
            return True
        if isinstance(node, ast.Call) and is_optimizer_class(model.qualified_name(node.func)) and any(
            isinstance(n, ast.Name) and n.id == leaf for a in node.args for n in ast.walk(a)
        ):
            return True
    return False


def _arguments(function) -> list[ast.arg]:
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    every.extend(a for a in (args.vararg, args.kwarg) if a is not None)
    return every


def _parameter_flow(model: SemanticModel, arg: ast.arg) -> Flow:
    """A parameter may carry a graph, unless its annotation says it holds plain data (`step: int`, `data: Data`)."""
    value = model.parameter_value(arg)
    if value.kind is Kind.OBJECT and value.grad is Grad.DATA:
        return NOTHING
    return PARAMETER


class _Walker:
    """Walks one function. `strict`: a function with no backward() whose returned value is checked instead;
    there, only evidence counts as a graph (a module's output, a value the model knows requires grad), since
    an unknown call (`read_image(path)`) is as likely to return data as a model output."""

    def __init__(self, model: SemanticModel, no_grad: ast.AST | None, strict: bool = False, protocol: bool = False):
        self.model = model
        self.no_grad: ast.AST | None = no_grad  # the `with` / decorator in force, if any
        self.strict = strict
        self.protocol = protocol  # `forward` / `training_step`: what it returns is trained on
        self.reporting = True
        self.statement: ast.stmt | None = None
        self.problems: list[Problem] = []
        self.parameters_are_data = False  # while evaluating a loss's target

    # --- statements ---------------------------------------------------------------------------------
    def walk(self, statements, env: dict[str, Flow]) -> dict[str, Flow]:
        for statement in statements:
            env = self.statement_(statement, env)
        return env

    def statement_(self, statement, env):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return {**env, statement.name: NOTHING}
        if isinstance(statement, ast.If):
            then = self.walk(statement.body, dict(env))
            otherwise = self.walk(statement.orelse, dict(env))
            return _merge(then, otherwise)
        if isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
            entry = dict(env)
            if not isinstance(statement, ast.While):
                for name in _names(statement.target):
                    entry[name] = NOTHING  # loop variables hold data
            # Two passes: what the end of one iteration binds reaches the start of the next.
            self.reporting, was_reporting = False, self.reporting
            end = self.walk(statement.body, dict(entry))
            self.reporting = was_reporting
            looped = self.walk(statement.body, _merge(entry, end))
            return self.walk(statement.orelse, _merge(env, looped))
        if isinstance(statement, (ast.With, ast.AsyncWith)):
            return self.with_(statement, env)
        if isinstance(statement, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            branches = [self.walk(statement.body, dict(env))]
            branches.extend(self.walk(handler.body, dict(env)) for handler in statement.handlers)
            merged = self.walk(statement.orelse, _merge(*branches))
            return self.walk(statement.finalbody, merged)
        if isinstance(statement, ast.Match):
            return _merge(env, *(self.walk(case.body, dict(env)) for case in statement.cases))
        return self.simple(statement, env)

    def with_(self, statement, env):
        contexts = [item.context_expr for item in statement.items]
        for item in statement.items:
            if item.optional_vars is not None:
                for name in _names(item.optional_vars):
                    env = {**env, name: NOTHING}
        saved = self.no_grad
        if self.no_grad is None and any(self.model.disables_grad(c) for c in contexts):
            self.no_grad = statement
        elif self.no_grad is not None and any(self.enables_grad(c) for c in contexts):
            self.no_grad = None  # `with torch.enable_grad():` inside a no_grad function: a graph again
        try:
            return self.walk(statement.body, env)
        finally:
            self.no_grad = saved

    def enables_grad(self, expr) -> bool:
        call = expr if isinstance(expr, ast.Call) else None
        name = self.model.qualified_name(call.func if call else expr)
        if name in ("torch.enable_grad", "torch.autograd.enable_grad"):
            return True
        if name == "torch.set_grad_enabled":
            return bool(call and call.args and not is_false(call.args[0]))
        if name == "torch.inference_mode":
            return bool(call and call.args and is_false(call.args[0]))
        return False

    def simple(self, statement, env):
        self.statement = statement
        if self.strict:
            if isinstance(statement, ast.Return) and statement.value is not None and self.reporting:
                self.check_return(statement, env)
        else:
            for call in _calls_in(statement):
                self.check_backward(call, env)
        if isinstance(statement, ast.Assign) and _is_requires_grad_patch(statement):
            owner = dotted(statement.targets[0].value)
            held = env.get(owner, NOTHING)
            return {**env, owner: Flow(held.state, held.cuts, held.patches + (statement,))}
        if isinstance(statement, ast.Assign):
            value = self.guarded(statement.value, env)
            for target in statement.targets:
                env = self.bind(target, statement.value, value, env)
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            env = self.bind(statement.target, statement.value, self.guarded(statement.value, env), env)
        elif isinstance(statement, ast.AugAssign):
            name = dotted(statement.target)
            if name:
                env = {**env, name: combine(env.get(name, NOTHING), self.guarded(statement.value, env))}
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            env = self.effect(statement.value, env)
        return env

    def bind(self, target, value_expr, value: Flow, env):
        env = dict(env)
        if isinstance(target, (ast.Tuple, ast.List)):
            elements = value_expr.elts if isinstance(value_expr, (ast.Tuple, ast.List)) else None
            if elements is not None and len(elements) == len(target.elts) and not any(
                isinstance(e, ast.Starred) for e in elements
            ):
                for element, expr in zip(target.elts, elements):
                    env = self.bind(element, expr, self.guarded(expr, env), env)
                return env
            for element in target.elts:
                env = self.bind(element, value_expr, value, env)
            return env
        if isinstance(target, ast.Starred):
            return self.bind(target.value, value_expr, value, env)
        name = dotted(target)
        if name:
            env[name] = value
        return env

    def effect(self, call: ast.Call, env):
        """Statements that change what a name holds without assigning it: append, extend, requires_grad_()."""
        func = call.func
        if not isinstance(func, ast.Attribute):
            return env
        owner = dotted(func.value)
        if owner is None:
            return env
        method = func.attr
        if method in ("append", "extend", "insert", "add") and call.args:
            return {**env, owner: combine(env.get(owner, NOTHING), self.guarded(call.args[-1], env))}
        if method == "requires_grad_" and _requires_grad_true(call):
            held = env.get(owner, NOTHING)
            return {**env, owner: Flow(held.state, held.cuts, held.patches + (self.statement,))}
        return env

    # --- backward calls -----------------------------------------------------------------------------
    def check_backward(self, call: ast.Call, env) -> None:
        receiver = self.backward_receiver(call)
        if receiver is None or not self.reporting:
            return
        value = self.value(receiver, env)
        if self.no_grad is not None and value.state == CONNECTED and dotted(receiver) not in env:
            # backward() on a value computed inside the no_grad block itself: it has no graph. (A loss computed
            # before the block keeps its graph: backward() under no_grad still works.)
            value = Flow(CUT, (Cut("no_grad", self.no_grad, value, None, False, self.statement),))
        if value.state == CONNECTED:
            return
        severed = [c for c in value.cuts if c.inner.state == CONNECTED]
        if value.state != CUT and not severed:
            return  # only data and cuts of data: a deliberate target, not a broken loss
        for cut in severed or value.cuts:
            self.problems.append(Problem(cut, call, value.patches))

    def check_return(self, statement: ast.Return, env) -> None:
        """A function with no backward() returns a new leaf made from a value with a graph (a re-wrap with
        `requires_grad=True`, or a requires_grad patch on a cut value): the caller's backward() trains nothing."""
        value = self.value(statement.value, env)
        if value.state == CONNECTED:
            return
        rewraps = [c for c in value.cuts if c.kind == "rewrap" and _asks_for_grad(c.node) and self.trained_on(c.inner)]
        if value.patches:
            rewraps += [c for c in value.cuts if c not in rewraps and carries_graph(c.inner) and self.trained_on(c.inner)]
        for cut in rewraps:
            self.problems.append(Problem(cut, statement, value.patches, returned=True))

    def trained_on(self, inner: Flow) -> bool:
        """What a `forward` or `training_step` returns is trained on, and so is a loss (whoever returns it)."""
        return self.protocol or inner.loss or any(self.trained_on(c.inner) for c in inner.cuts)

    def backward_receiver(self, call: ast.Call) -> ast.expr | None:
        func = call.func
        qualified = self.model.qualified_name(func)
        if qualified == "torch.autograd.backward":
            return _first_arg(call, "tensors")
        if qualified == "torch.autograd.grad":
            return _first_arg(call, "outputs")
        if not isinstance(func, ast.Attribute) or func.attr not in ("backward", "manual_backward"):
            return None
        if func.attr == "manual_backward" or self.passes_the_loss(func.value, call):
            return _first_arg(call, "loss")
        return func.value

    def passes_the_loss(self, owner: ast.expr, call: ast.Call) -> bool:
        """`accelerator.backward(loss)`, `self.backward(loss)`: the owner is not the loss, its argument is."""
        if _first_arg(call, "loss") is None:
            return False
        held = self.model.value(owner)
        if held.is_tensor:
            return False  # `loss.backward(gradient)`
        # `Accelerator.backward(loss)`, `Fabric.backward(loss)`, a LightningModule's `self.backward(loss)`: known
        # through their imports and classes, never from how the owner is spelt.
        return held.kind in (Kind.OBJECT, Kind.MODULE)

    # --- expressions --------------------------------------------------------------------------------
    def guarded(self, expr, env) -> Flow:
        """The value of `expr`, cut if it is computed while gradients are off."""
        value = self.value(expr, env)
        if self.no_grad is not None and (value.state == CONNECTED or any(c.inner.state == CONNECTED for c in value.cuts)):
            return Flow(CUT, (Cut("no_grad", self.no_grad, value, None, False, self.statement),), value.patches)
        return value

    def value(self, expr, env) -> Flow:
        name = dotted(expr)
        if name is not None and name in env:
            held = env[name]
            return NOTHING if held is PARAMETER and self.parameters_are_data else held
        if isinstance(expr, ast.Name):
            # A global or closure variable: trainable only if the model knows it requires grad.
            return GRAPH if self.model.value(expr).requires_grad else NOTHING
        if isinstance(expr, ast.Attribute):
            if expr.attr == "data":
                return self.cut("data", expr, expr.value, env)
            own = self.model.self_attribute_value(expr)
            if own is not None:
                if self.strict:
                    return GRAPH if own.requires_grad else NOTHING
                return NOTHING if _plain_data(own) else GRAPH  # a parameter, a submodule, or unknown
            return self.value(expr.value, env)
        if isinstance(expr, ast.Subscript):
            return self.value(expr.value, env)
        if isinstance(expr, ast.BinOp):
            return combine(self.value(expr.left, env), self.value(expr.right, env))
        if isinstance(expr, ast.UnaryOp):
            return NOTHING if isinstance(expr.op, ast.Not) else self.value(expr.operand, env)
        if isinstance(expr, ast.Compare):
            return self.cut("comparison", expr, expr.left, env)
        if isinstance(expr, ast.BoolOp):
            return combine(*(self.value(v, env) for v in expr.values))
        if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
            return combine(*(self.value(e, env) for e in expr.elts))
        if isinstance(expr, ast.Dict):
            return combine(*(self.value(v, env) for v in expr.values))
        if isinstance(expr, (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)):
            inner = dict(env)
            for generator in expr.generators:
                # Each element carries what the iterable carries: `for q in critic(obs, a)` yields graph-carrying
                # outputs, `for x, y in loader` yields data.
                iterated = self.value(generator.iter, inner)
                for bound in _names(generator.target):
                    inner[bound] = iterated
            element = expr.value if isinstance(expr, ast.DictComp) else expr.elt
            return self.value(element, inner)
        if isinstance(expr, ast.IfExp):
            return combine(self.value(expr.body, env), self.value(expr.orelse, env))
        if isinstance(expr, (ast.Await, ast.NamedExpr, ast.Starred)):
            return self.value(expr.value, env)
        if isinstance(expr, ast.Call):
            return self.call(expr, env)
        return NOTHING

    def cut(self, kind: str, node, inner_expr, env) -> Flow:
        inner = self.value(inner_expr, env)
        cut = Cut(kind, node, inner, inner_expr, self.computed_here(inner_expr, env), self.statement)
        return Flow(CUT, (cut,), inner.patches)

    def computed_here(self, expr, env) -> bool:
        """True when `expr` is computation in this scope (a call, arithmetic), or a name this scope assigned."""
        if isinstance(expr, (ast.Call, ast.BinOp, ast.UnaryOp, ast.Subscript)):
            return True
        name = dotted(expr)
        return bool(name and name in env and env[name] is not PARAMETER and env[name] is not NOTHING)

    def call(self, call: ast.Call, env) -> Flow:
        func = call.func
        target = self.loss_target(func)
        if target is not None:
            return self.loss(call, target, env)
        qualified = self.model.qualified_name(func)
        if qualified is not None and qualified.startswith("torch."):
            return self.torch_function(qualified, call, env)
        if qualified is not None and qualified.split(".")[0] in _DATA_MODULES:
            return NOTHING
        if isinstance(func, ast.Attribute):
            method = func.attr
            owner = func.value
            if method in _METHOD_CUTS and not (method == "detach" and (call.args or call.keywords)):
                return self.cut(_METHOD_CUTS[method], call, owner, env)
            if _integer_method(method):
                return self.cut(method, call, owner, env)
            if method == "requires_grad_":
                return self.requires_grad_call(call, owner, env)
            if method == "scale":  # AMP: scaler.scale(loss) is the loss, scaled
                return self.arguments(call, env)
            if method in _RECEIVER_ONLY:
                return self.value(owner, env)
            if _pure_method(method):
                return combine(self.value(owner, env), self.arguments(call, env))
            return self.opaque(call)
        name = func.id if isinstance(func, ast.Name) else ""
        if name in ("sum", "max", "min", "abs", "sorted", "list", "tuple"):
            return self.arguments(call, env)
        if name in ("float", "int") and call.args:
            return self.cut(f"{name}()", call, call.args[0], env)
        if name in ("len", "range", "print", "isinstance", "str", "repr", "enumerate", "zip"):
            return NOTHING
        return self.opaque(call)

    def arguments(self, call: ast.Call, env) -> Flow:
        return combine(*(self.value(a, env) for a in call.args), *(self.value(k.value, env) for k in call.keywords))

    def opaque(self, call: ast.Call) -> Flow:
        """A model, a submodule, or a function we cannot see into: it may own parameters, unless the semantic
        model knows its result is plain data (`x.size(0)`, a helper returning a number). Strict: only a module's
        output, or a result the model knows requires grad."""
        if self.strict:
            evident = self.model.value(call).requires_grad or self.model.value(call.func).kind is Kind.MODULE
            return GRAPH if evident else NOTHING
        return NOTHING if _plain_data(self.model.value(call), strict=True) else GRAPH

    # --- loss functions -------------------------------------------------------------------------------
    def loss_target(self, func) -> int | None:
        """For a loss function, the position of its target argument (-1: only `target=`); else None."""
        qualified = self.model.qualified_name(func)
        if qualified is not None:
            if _LOSS_FUNCTION.match(qualified):
                return 1
            return None
        held = self.model.value(func)
        if held.kind is Kind.MODULE and held.cls and _LOSS_MODULE.match(held.cls):
            return -1 if _TWO_INPUT_LOSS.search(held.cls) else 1
        return None

    def loss(self, call: ast.Call, target: int, env) -> Flow:
        values = []
        for index, argument in enumerate(call.args):
            values.append(self.target_value(argument, env) if index == target else self.value(argument, env))
        for kw in call.keywords:
            values.append(self.target_value(kw.value, env) if kw.arg in _TARGET_KEYWORDS else self.value(kw.value, env))
        result = combine(*values)
        return Flow(result.state, result.cuts, result.patches, True)

    def target_value(self, expr, env) -> Flow:
        """A loss's target is ground truth: a bare function parameter there is data."""
        self.parameters_are_data, was = True, self.parameters_are_data
        try:
            return self.value(expr, env)
        finally:
            self.parameters_are_data = was

    # --- torch ----------------------------------------------------------------------------------------
    def torch_function(self, qualified: str, call: ast.Call, env) -> Flow:
        short = qualified.rsplit(".", 1)[-1]
        requires_grad = is_true(keyword(call, "requires_grad"))
        if qualified in REWRAPS:
            data = rewrapped_argument(call)
            if data is not None and self.from_graph(data, env):
                return self.rewrap(call, data, env) if requires_grad else self.cut("rewrap", call, data, env)
            return GRAPH if requires_grad else NOTHING  # a fresh leaf (trainable if it asks for grad)
        if short in _FACTORIES:
            return GRAPH if requires_grad else NOTHING
        if torch_ops.integer_result(qualified) and call.args:  # torch.argmax, torch.eq, ...: torch table
            return self.cut(short, call, call.args[0], env)
        if qualified.startswith("torch.nn.") and not qualified.startswith("torch.nn.functional."):
            return GRAPH  # constructing or calling a module
        return self.arguments(call, env)

    def requires_grad_call(self, call: ast.Call, owner, env) -> Flow:
        base = owner
        while isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute) and base.func.attr == "clone":
            base = base.func.value
        detached = isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute) and base.func.attr == "detach"
        if detached or (isinstance(base, ast.Attribute) and base.attr == "data"):
            inner = base.func.value if detached else base.value
            if self.from_graph(inner, env):
                return self.rewrap(call, inner, env)
        held = self.value(owner, env)
        if held.state != CONNECTED and _requires_grad_true(call):
            return Flow(held.state, held.cuts, held.patches + (self.statement,))
        return held

    def rewrap(self, call, data, env) -> Flow:
        underlying = strip_cuts(data)
        inner = self.value(underlying, env)
        cut = Cut("rewrap", call, inner, underlying, self.computed_here(underlying, env), self.statement)
        return Flow(CUT, (cut,), inner.patches)

    def from_graph(self, expr, env) -> bool:
        """True when `expr` is derived from a value with a graph (a loss, a model output), not from plain data."""
        return carries_graph(self.value(strip_cuts(expr), env))


def _plain_data(value, strict: bool = False) -> bool:
    """The semantic model knows `value` holds no graph: a number, a string, a buffer made by a factory.
    `strict`: only builtin plain data (a call's result; a local class instance may hold tensors)."""
    if value.kind is Kind.OBJECT and value.grad is Grad.DATA:
        return not strict or (value.cls is None and value.origin is None)
    return not strict and value.kind is Kind.TENSOR and value.grad is Grad.DATA


def _asks_for_grad(node: ast.AST) -> bool:
    """`torch.tensor(..., requires_grad=True)`, `Variable(..., requires_grad=True)`, `x.detach().requires_grad_()`."""
    if not isinstance(node, ast.Call):
        return False
    if isinstance(node.func, ast.Attribute) and node.func.attr == "requires_grad_":
        return _requires_grad_true(node)
    return is_true(keyword(node, "requires_grad"))


def rewrapped_argument(call: ast.Call) -> ast.expr | None:
    """The data argument of `torch.tensor(data, ...)` / `Variable(data, ...)`."""
    if call.args and not isinstance(call.args[0], ast.Starred):
        return call.args[0]
    return keyword(call, "data")


def strip_cuts(expr):
    """`loss.item()`, `loss.data`, `loss.detach().clone()` -> `loss`: the tensor a re-wrap copied."""
    while True:
        if isinstance(expr, ast.Attribute) and expr.attr == "data":
            expr = expr.value
        elif (
            isinstance(expr, ast.Call)
            and not expr.args
            and not expr.keywords
            and isinstance(expr.func, ast.Attribute)
            and expr.func.attr in ("item", "detach", "clone", "cpu")
        ):
            expr = expr.func.value
        else:
            return expr


def _is_requires_grad_patch(assign: ast.Assign) -> bool:
    """`loss.requires_grad = True`."""
    target = assign.targets[0]
    return (
        len(assign.targets) == 1
        and isinstance(target, ast.Attribute)
        and target.attr == "requires_grad"
        and dotted(target.value) is not None
        and is_true(assign.value)
    )


def _requires_grad_true(call: ast.Call) -> bool:
    if not call.args:
        flag = keyword(call, "requires_grad")
        return flag is None or is_true(flag)
    return is_true(call.args[0])


def _first_arg(call: ast.Call, name: str):
    for arg in call.args:
        if not isinstance(arg, ast.Starred):
            return arg
    return keyword(call, name)


def _names(target) -> list[str]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for e in target.elts for n in _names(e)]
    if isinstance(target, ast.Starred):
        return _names(target.value)
    name = dotted(target)
    return [name] if name else []


def _merge(*envs: dict[str, Flow]) -> dict[str, Flow]:
    merged: dict[str, Flow] = {}
    for name in {n for env in envs for n in env}:
        values = [env[name] for env in envs if name in env]
        first = values[0]
        merged[name] = first if all(v is first for v in values) else combine(*values)
    return merged


def _calls_in(statement) -> list[ast.Call]:
    """The calls of a simple statement, in source order, outside lambdas (they run later, or never)."""
    calls = []
    stack = [statement]
    pop, push, AST, Call, skip = stack.pop, stack.append, ast.AST, ast.Call, _NOT_ENTERED
    while stack:  # a tight loop over `_fields` (ast.iter_child_nodes cost most of this)
        node = pop()
        if node.__class__ is Call:
            calls.append(node)
        for name in node._fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for child in value:
                    if isinstance(child, AST) and child.__class__ not in skip:
                        push(child)
            elif isinstance(value, AST) and value.__class__ not in skip:
                push(value)
    calls.sort(key=lambda c: (c.lineno, c.col_offset))
    return calls


_NOT_ENTERED = frozenset({ast.Lambda, ast.Load, ast.Store, ast.Del})


class LossFlowRule:
    """Mixin for the GF2xx rules: runs the shared analysis once per file and hands each problem to `problem`."""

    def check(self, model: SemanticModel) -> None:
        for problem in LossFlow.of(model, self.context.cache).problems:
            self.problem(problem)

    def problem(self, problem: Problem) -> None:  # pragma: no cover - each rule overrides it
        raise NotImplementedError


def describe(cut: Cut) -> str:
    """How a cut reads in a message: "`.detach()`", "`.item()`", "a re-wrap into a new leaf"."""
    if cut.kind in ("float()", "int()"):
        return f"`{cut.kind}`"
    if cut.kind == "comparison":
        return "a comparison"
    if cut.kind == "rewrap":
        return "a re-wrap into a new leaf"
    if cut.kind == "no_grad":
        return "`torch.no_grad()`"
    if cut.kind == "data":
        return "`.data`"
    return f"`.{cut.kind}()`"
