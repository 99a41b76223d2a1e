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

Calls into the file's own functions (a helper, a method, a module's `forward`, a local loss class) are
followed (`follow`): the callee is walked with its parameters bound to what the call passes, and what it
returns comes back with its cuts, through return values, lists, dicts and comprehensions, up to three calls
deep and within a budget of lines per file, so the cost stays linear. A forward hook's return value replaces
the layer's output, so it is checked like a `forward`'s.

Per term: in a sum whose total still reaches parameters, a term that is a loss cut from the graph (detached,
re-wrapped with `torch.tensor(x.item(), requires_grad=True)`, `torch.Tensor([...])`, `Variable(x.data)`)
trains nothing; it is reported as such (`Flow.dead`, `Problem.term`). A term whose tensor also appears uncut
in the sum (`x - x.detach()`, a straight-through estimator) is meant.

Evidence from use: a callable the file does not show, given a value cut from a model's output and a target,
has a loss function's shape (`loss_shaped`); when its result is what backward() gets (through names and
arithmetic only), and nothing shows the callable is a model (called on plain data, `.parameters()`), it is a
loss function, and backward() cannot reach the model through the cut, whatever the callable is.

One convention stands in for what a file cannot show: a loss's target (the second argument of
`F.cross_entropy(input, target)`, of an `nn.*Loss` module, or `target=`) is ground truth, so a bare function
parameter given there counts as data. A loss function is known by what it is (an import, an `nn.*Loss`
module, a parameter whose call sites pass one), never by its name: an unknown callable may own parameters.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

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
# The legacy constructors copy a list of tensors into a new tensor without history (checked on torch 2.13:
# `torch.Tensor([loss])` has no grad_fn), although given one tensor `torch.Tensor(t)` aliases it.
LEGACY_CONSTRUCTORS = frozenset(
    f"torch.{name}" for name in ("Tensor", "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor")
) | frozenset(f"torch.cuda.{name}" for name in ("FloatTensor", "DoubleTensor", "HalfTensor"))
_DISPLAYS = (ast.List, ast.Tuple, ast.ListComp, ast.GeneratorExp)
# How deep calls into the file's own functions are followed, and how many lines of them one file may walk in
# all (per line of the file): the cost stays linear in the file's size.
_INLINE_DEPTH = 3
_INLINE_BUDGET_PER_LINE = 4
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
    elsewhere: str | None = None  # made in another file of the project (`Perceptual.forward` in losses.py:14)


@dataclass(frozen=True)
class Flow:
    state: int
    cuts: tuple[Cut, ...] = ()
    patches: tuple[ast.stmt, ...] = ()  # `x.requires_grad = True` / `x.requires_grad_()` applied on the way
    loss: bool = False  # computed by a loss function (`F.cross_entropy`, an `nn.*Loss`, a `criterion`)
    # CONNECTED only on the assumption that these callables own parameters: each was given a value cut from a
    # model's output and a target (`criterion(out.detach(), y)`), the shape of a loss function (see `loss_shaped`).
    assumed: tuple[ast.Call, ...] = ()
    # Terms of a sum cut from the graph (a loss detached or re-wrapped) while the rest still reaches parameters.
    dead: tuple[Cut, ...] = ()


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
    dead: dict[int, Cut] = {}
    for value in values:
        for cut in value.cuts:
            cuts.setdefault(id(cut.node), cut)
        for patch in value.patches:
            patches.setdefault(id(patch), patch)
        for cut in value.dead:
            dead.setdefault(id(cut.node), cut)
    state = max(v.state for v in values)
    connected = [v for v in values if v.state == CONNECTED]
    assumed: tuple[ast.Call, ...] = ()
    if connected and all(v.assumed for v in connected):
        assumed = tuple({id(c): c for v in connected for c in v.assumed}.values())
    return Flow(state, tuple(cuts.values()), tuple(patches.values()), any(v.loss for v in values), assumed,
                tuple(dead.values()))


def consumed(value: Flow) -> Flow:
    """`value` given to a computation that treats it as a model's output (a tensor method, a torch function,
    another loss): whatever called it, its result was not the loss itself, so it is taken to own parameters."""
    if not value.assumed:
        return value
    return Flow(value.state, value.cuts, value.patches, value.loss, (), value.dead)


def with_dead_terms(total: Flow, *terms: Flow) -> Flow:
    """A sum's value, recording each term that is a loss cut from the graph while the total still connects."""
    if total.state != CONNECTED or total.assumed:
        return total
    dead = [c for t in terms if t.state != CONNECTED for c in t.cuts if c.kind != "no_grad" and _severs_a_loss(c)]
    if not dead:
        return total
    known = {id(c.node) for c in total.dead}
    return Flow(total.state, total.cuts, total.patches, total.loss, total.assumed,
                total.dead + tuple(c for c in dead if id(c.node) not in known))


def _severs_a_loss(cut: Cut) -> bool:
    """The cut (directly, or through the cuts before it: `Variable(loss.data)`) severed a loss that had a graph."""
    inner = cut.inner
    return (inner.state == CONNECTED and _is_loss(inner)) or any(_severs_a_loss(c) for c in inner.cuts)


def _is_loss(value: Flow) -> bool:
    return value.loss or any(_is_loss(c.inner) for c in value.cuts)


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
    term: bool = False  # one term of a sum whose rest still reaches parameters

    @property
    def where(self) -> str:
        if self.returned:
            return f"the value returned at line {self.backward.lineno}"
        if self.term:
            return f"a term of the loss given to backward() at line {self.backward.lineno} (the rest still trains)"
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
    shared = _Shared(model.text.count("\n") * _INLINE_BUDGET_PER_LINE + 400)
    for strict, group in ((False, scopes), (True, returning)):
        for scope in group.values():
            _walk_scope(model, scope, strict, flow, seen, shared)
    flow.problems.sort(key=lambda p: (p.cut.node.lineno, p.cut.node.col_offset))
    return flow


@dataclass
class _Shared:
    """What the walks of one file share: the lines left to spend following calls, and what each call gave."""

    budget: int
    memo: dict = field(default_factory=dict)
    elsewhere: dict = field(default_factory=dict)  # (qualified, kind) -> what `_defined_elsewhere` found
    generators: dict = field(default_factory=dict)  # id(function) -> it yields
    hooks: dict | None = None  # id(function) -> how many `register_forward_hook(function)` calls register it
    calls_by_name: dict | None = None  # called name -> the calls of it
    triggers_by_function: dict | None = None  # id(function) -> its backward triggers


# Models of the project's other files that calls were followed into, by (path, text): a few, reused across the
# files of one run (a training script and its evaluation script import the same model).
_OTHER_FILES: dict[tuple[str, int], SemanticModel] = {}
_OTHER_FILES_KEPT = 8


def _defined_elsewhere(project, qualified: str, kind: str):
    """(model of the defining file, the function a call runs, where it is) for a class or function of another
    file of the project; None when the index cannot show its source."""
    source = project.source(qualified, kind)
    if source is None:
        return None
    name, path, module, text = source
    key = (path, hash(text))
    other = _OTHER_FILES.get(key)
    if other is None:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        other = SemanticModel(tree, text, path, module, path.endswith("__init__.py"), project)
        if len(_OTHER_FILES) >= _OTHER_FILES_KEPT:
            _OTHER_FILES.pop(next(iter(_OTHER_FILES)))
        _OTHER_FILES[key] = other
    short = name.rsplit(".", 1)[-1]
    top = {n.name: n for n in other.tree.body if isinstance(n, (ast.ClassDef, *FUNCTIONS))}
    found = top.get(short)
    if kind == "classes":
        if not isinstance(found, ast.ClassDef):
            return None
        method = "forward" if other.is_module_class_def(found) else "__call__"
        found = next((m for m in found.body if isinstance(m, FUNCTIONS) and m.name == method), None)
        short = f"{short}.{method}"
    if not isinstance(found, FUNCTIONS):
        return None
    return other, found, f"`{short}` ({Path(path).name}:{found.lineno})"


def _walk_scope(model: SemanticModel, scope: ast.AST, strict: bool, flow: LossFlow, seen: set,
                shared: _Shared) -> None:
    no_grad = None
    env: dict[str, Flow] = {}
    if isinstance(scope, FUNCTIONS):
        no_grad = next((d for d in scope.decorator_list if model.disables_grad(d)), None)
        for arg in _arguments(scope):
            # Checking what a function returns, only evidence counts: a parameter whose call sites pass a value
            # that requires grad.
            env[arg.arg] = (GRAPH if model.parameter_value(arg).requires_grad else NOTHING) if strict \
                else _parameter_flow(model, arg)
        if strict and _is_forward_hook(model, scope, shared):
            # A forward hook's third parameter is the module's output, with its graph; what the hook returns
            # replaces that output, so it is what the training loop trains on.
            arguments = [*scope.args.posonlyargs, *scope.args.args]
            if len(arguments) == 3:
                env[arguments[2].arg] = GRAPH
    walker = _Walker(model, no_grad, strict, _trained_on_by_protocol(model, scope, shared), shared)
    walker.walk(scope.body, env)
    for problem in walker.problems:
        if problem.cut.kind == "rewrap" and _trained_leaf(model, problem.cut, model.function(problem.cut.node) or scope):
            continue
        key = (id(problem.cut.node), problem.cut.kind)
        if key not in seen:
            seen.add(key)
            flow.problems.append(problem)


def _trained_on_by_protocol(model: SemanticModel, scope: ast.AST, shared: _Shared) -> bool:
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
    return _is_forward_hook(model, scope, shared) or _returns_to_backward(model, scope, shared)


def _is_forward_hook(model: SemanticModel, function: ast.AST, shared: _Shared) -> bool:
    """`function` is registered with `module.register_forward_hook(function)`, and only called that way: a
    value it returns replaces the module's output (torch.nn.Module docs)."""
    if not isinstance(function, FUNCTIONS) or model.enclosing_class(function) is not None:
        return False
    if shared.hooks is None:  # one pass over the file's registrations, whatever the number of functions
        shared.hooks = {}
        for call in model.calls_to_method("register_forward_hook"):
            registered = model.local_function(call.args[0]) if call.args else None
            if registered is not None:
                shared.hooks[id(registered)] = shared.hooks.get(id(registered), 0) + 1
    if id(function) not in shared.hooks:
        return False
    sites = model.call_sites.of(function)
    return bool(sites) and shared.hooks[id(function)] == len(sites)


def _returns_to_backward(model: SemanticModel, function: ast.AST, shared: _Shared) -> bool:
    """Some call of `function` in this file is trained on: `f(...).backward()`, or `loss = f(...)` and then
    `loss.backward()` / `backward(loss)` (`manual_backward`, `accelerator.backward`) in the same function."""
    if shared.triggers_by_function is None:  # one pass over the file's triggers, whatever the number of scopes
        shared.triggers_by_function = {}
        for trigger in backward_calls(model):
            shared.triggers_by_function.setdefault(id(model.function(trigger)), []).append(trigger)
    for call in model.calls_named(function.name):
        if model.callee(call) is not function:
            continue
        parent = model.parent(call)
        if isinstance(parent, ast.Attribute) and parent.attr == "backward":
            return True
        if not (isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name)):
            continue
        bound, where = parent.targets[0].id, model.function(call)
        for trigger in shared.triggers_by_function.get(id(where), ()):
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

    def __init__(self, model: SemanticModel, no_grad: ast.AST | None, strict: bool = False, protocol: bool = False,
                 shared: _Shared | None = None, stack: tuple[int, ...] = ()):
        self.model = model
        self.shared = shared if shared is not None else _Shared(0)
        self.stack = stack  # the functions being followed into, outermost first (no recursion)
        self.returned: list[Flow] = []  # what a followed function returns
        self.own_parameters: frozenset[str] = frozenset()  # a followed function's parameters (fixes stay out)
        self.batch_callees: set[str] = set()  # callables called on plain data here: models, not loss functions
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
        if isinstance(statement, ast.Return) and self.stack:
            self.returned.append(self.guarded(statement.value, env) if statement.value is not None else NOTHING)
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
                held, added = env.get(name, NOTHING), self.guarded(statement.value, env)
                total = combine(held, added)
                if isinstance(statement.op, (ast.Add, ast.Sub)):
                    total = with_dead_terms(total, *self.independent_terms((statement.target, held), (statement.value, added)))
                env = {**env, name: total}
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
        if value.state == CONNECTED and value.assumed and not any(self.is_model(c) for c in value.assumed):
            # Each callable that alone made the loss connected was given a value cut from a model's output and a
            # target, and its result is what backward() gets: a loss function, which owns no parameters. Whatever
            # it is, backward() cannot reach the model through the cut.
            value = Flow(CUT, value.cuts, value.patches, value.loss)
        if value.state == CONNECTED:
            for cut in value.dead:
                self.problems.append(Problem(cut, call, (), term=True))
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
            left, right = self.value(expr.left, env), self.value(expr.right, env)
            total = combine(left, right)
            if isinstance(expr.op, (ast.Add, ast.Sub)) and total.state == CONNECTED:
                return with_dead_terms(total, *self.independent_terms((expr.left, left), (expr.right, right)))
            return total
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
        if name in self.own_parameters:
            return False  # a parameter of a function followed from its caller: other callers may mean the cut
        return bool(name and name in env and env[name] is not PARAMETER and env[name] is not NOTHING)

    def call(self, call: ast.Call, env) -> Flow:
        func = call.func
        target = self.loss_target(func)
        if target is not None:
            return self.loss(call, target, env)
        qualified = self.model.qualified_name(func)
        if qualified is not None and qualified.startswith("torch."):
            return consumed(self.torch_function(qualified, call, env))
        if qualified is not None and qualified.split(".")[0] in _DATA_MODULES:
            return NOTHING
        body = self.model.called_body(call)
        followed = self.follow(body, call, env) if body is not None else self.follow_elsewhere(call, env)
        if followed is not None:
            return followed
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
                return consumed(self.value(owner, env))
            if _pure_method(method):
                return consumed(combine(self.value(owner, env), self.arguments(call, env)))
            return self.opaque_or_loss(call, env)
        name = func.id if isinstance(func, ast.Name) else ""
        if name in ("sum", "max", "min", "abs", "sorted", "list", "tuple"):
            return self.arguments(call, env)
        if name in ("float", "int") and call.args:
            return self.cut(f"{name}()", call, call.args[0], env)
        if name in ("len", "range", "print", "isinstance", "str", "repr", "enumerate", "zip"):
            return NOTHING
        return self.opaque_or_loss(call, env)

    # --- calls into the file's own functions ----------------------------------------------------------
    def follow(self, function: ast.AST, call: ast.Call, env, owner: SemanticModel | None = None) -> Flow | None:
        """What `call` returns, by walking `function` (a helper, a method, a module's `forward`) with its
        parameters bound to what the call passes: return values carry cuts (and re-wraps) to the caller's
        backward(). None where the call cannot be followed (too deep, recursive, `*args`, out of budget).
        `owner`: the model of the file that defines `function`, when it is another file of the project."""
        owner = owner or self.model
        if not isinstance(function, FUNCTIONS) or len(self.stack) >= _INLINE_DEPTH or id(function) in self.stack:
            return None
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            return None
        generator = self.shared.generators.get(id(function))
        if generator is None:
            generator = self.shared.generators[id(function)] = any(
                isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(function))
        if generator:
            return None  # a generator: its result is an iterator, not a value
        given = [self.value(a, env) for a in call.args]
        named = {k.arg: self.value(k.value, env) for k in call.keywords}
        key = (id(function), tuple(_signature(f) for f in given), tuple(sorted((k, _signature(v)) for k, v in named.items())),
               id(self.no_grad) if self.no_grad is not None else 0, self.strict)
        if key in self.shared.memo:
            return self.shared.memo[key]
        size = (getattr(function, "end_lineno", None) or function.lineno) - function.lineno + 1
        if self.shared.budget < size:
            return None
        self.shared.budget -= size
        arguments = function.args
        positional = [*arguments.posonlyargs, *arguments.args]
        offset = 1 if owner.enclosing_class(function) is not None and not owner.is_static_method(function) else 0
        inner: dict[str, Flow] = {}
        for index, arg in enumerate(positional):
            place = index - offset
            inner[arg.arg] = given[place] if 0 <= place < len(given) else named.get(arg.arg, NOTHING)
        for arg in arguments.kwonlyargs:
            inner[arg.arg] = named.get(arg.arg, NOTHING)
        for arg in (arguments.vararg, arguments.kwarg):
            if arg is not None:
                inner[arg.arg] = NOTHING
        no_grad = self.no_grad or next((d for d in function.decorator_list if owner.disables_grad(d)), None)
        walker = _Walker(owner, no_grad, self.strict, False, self.shared, (*self.stack, id(function)))
        walker.reporting = False
        walker.own_parameters = frozenset(inner) - {positional[0].arg} if offset and positional else frozenset(inner)
        walker.walk(function.body, inner)
        result = combine(*walker.returned) if walker.returned else NOTHING
        self.shared.memo[key] = result
        return result

    def follow_elsewhere(self, call: ast.Call, env) -> Flow | None:
        """What a call into another file of the project returns (a module class's `forward`, a function), found
        through the project index and followed like a call into this file. A cut made there is reported here,
        at the call, naming where it is (its own file reports it too where that file shows the backward())."""
        project = self.model.project
        if project is None:
            return None
        held = self.model.value(call.func)
        if held.kind in (Kind.MODULE, Kind.OBJECT) and held.cls and not held.cls.startswith(("<local>.", "torch.")):
            qualified, kind = held.cls, "classes"
        else:
            qualified, kind = self.model.qualified_name(call.func), "functions"
            if qualified is None or qualified.split(".")[0] in _DATA_MODULES or qualified.startswith("torch."):
                return None
        found = self.shared.elsewhere.get((qualified, kind), False)
        if found is False:
            found = self.shared.elsewhere[(qualified, kind)] = _defined_elsewhere(project, qualified, kind)
        if found is None:
            return None
        other, function, where = found
        flow = self.follow(function, call, env, other)
        return None if flow is None else self.brought_here(flow, other, where, call)

    def brought_here(self, flow: Flow, other: SemanticModel, where: str, call: ast.Call) -> Flow:
        """`flow`, with every cut made in the other file moved to `call` here (a finding must be in this file)."""
        def foreign(node) -> bool:
            return node is other.tree or other.parent(node) is not None

        def moved(cuts):
            return tuple(Cut(c.kind, call, c.inner, None, False, self.statement, where) if foreign(c.node) else c
                         for c in cuts)

        return Flow(flow.state, moved(flow.cuts), tuple(p for p in flow.patches if not foreign(p)), flow.loss,
                    tuple(a for a in flow.assumed if not foreign(a)), moved(flow.dead))

    # --- loss functions known by use ----------------------------------------------------------------
    def opaque_or_loss(self, call: ast.Call, env) -> Flow:
        """An unknown callable: it may own parameters (`opaque`), unless its use shows a loss function."""
        result = self.opaque(call)
        if self.strict or result.state != CONNECTED:
            return result
        name = dotted(call.func)
        if name is not None and call.args and not isinstance(call.args[0], ast.Starred):
            first = self.value(call.args[0], env)
            if first.state == UNKNOWN and not first.cuts:
                self.batch_callees.add(name)  # called on plain data: a model
        return self.loss_shaped(call, env) or result

    def loss_shaped(self, call: ast.Call, env) -> Flow | None:
        """`f(out.detach(), y)`: a callable the file does not show, given a value cut from a model's output and a
        target (plain data), has a loss function's shape. Its result counts as connected only on the assumption
        that `f` owns parameters (`Flow.assumed`); where that result is what backward() gets, and nothing shows
        that `f` is a model, the assumption is dropped (`check_backward`)."""
        if not call.args or any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            return None
        target = call.args[1] if len(call.args) > 1 else next(
            (k.value for k in call.keywords if k.arg in _TARGET_KEYWORDS), None)
        if target is None:
            return None
        held = self.model.value(call.func)
        if held.kind is not Kind.UNKNOWN:
            return None  # a module, an object, a function the file shows: its definition says what it is
        first = self.value(call.args[0], env)
        if first.state != CUT or not any(c.inner.state == CONNECTED for c in first.cuts):
            return None
        rest = [self.target_value(target, env), *(self.value(a, env) for a in call.args[2:]),
                *(self.value(k.value, env) for k in call.keywords if k.value is not target)]
        if any(r.state == CONNECTED for r in rest):
            return None
        combined = combine(first, *rest)
        return Flow(CONNECTED, combined.cuts, combined.patches, True, (call,))

    def is_model(self, call: ast.Call) -> bool:
        """The callable of `call` is shown to be a model: called on plain data here, or used as a module."""
        func = call.func
        if dotted(func) in self.batch_callees:
            return True
        return isinstance(func, ast.Name) and self.model.used_as(func) is not None and self.model.used_as(func).kind is Kind.MODULE

    def independent_terms(self, *terms: tuple[ast.AST, Flow]) -> list[Flow]:
        """The terms of a sum, less any cut term whose tensor also appears uncut in another term: `x - x.detach()`
        and the straight-through `y_hard - y_soft.detach() + y_soft` mean the cut."""
        kept = []
        for index, (expr, value) in enumerate(terms):
            if value.state != CONNECTED:
                cut_names = {dotted(strip_cuts(c.inner_expr)) for c in value.cuts if c.inner_expr is not None} - {None}
                others = {dotted(n) for j, (e, _) in enumerate(terms) if j != index for n in ast.walk(e)
                          if isinstance(n, (ast.Name, ast.Attribute))}
                if cut_names & others:
                    continue
            kept.append(value)
        return kept

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
        result = consumed(combine(*values))
        return Flow(result.state, result.cuts, result.patches, True, (), result.dead)

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
                # `torch.tensor(loss.item())`, `Variable(x.data)`: the copy is of the tensor under the cuts.
                return self.rewrap(call, data, env)
            return GRAPH if requires_grad else NOTHING  # a fresh leaf (trainable if it asks for grad)
        if short in _FACTORIES:
            return GRAPH if requires_grad else NOTHING
        if qualified in LEGACY_CONSTRUCTORS and call.args and isinstance(call.args[0], _DISPLAYS):
            if self.from_graph(call.args[0], env):
                inner = self.value(call.args[0], env)
                return Flow(CUT, (Cut("rewrap", call, inner, None, False, self.statement),), inner.patches)
            return NOTHING
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


def _signature(value: Flow) -> tuple:
    """What a followed call's result depends on in an argument: equal signatures give equal results."""
    return (value.state, tuple(id(c.node) for c in value.cuts), value.loss, tuple(id(p) for p in value.patches),
            bool(value.assumed), tuple(id(c.node) for c in value.dead), value is PARAMETER)


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
