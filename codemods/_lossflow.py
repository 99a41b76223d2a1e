"""Where does the tensor given to backward() come from? A small abstract interpretation for the GF2xx rules.

Each function (and the module's top level) is walked statement by statement. Every name holds a `Value`:

- CONNECTED: may carry a graph to trainable state. A call to anything that may own parameters
  (`model(x)`, `self.head(h)`, an unknown function), a function parameter, a fresh leaf created
  with `requires_grad=True`.
- UNKNOWN: no evidence of a graph: data and labels (loop variables, globals, constants).
- CUT: certainly no graph: `.detach()`, `.data`, `.item()`, `argmax`, a re-wrap into a new leaf,
  anything computed under `torch.no_grad()`.

Pure operations (tensor methods, `torch.*` and `F.*` functions, loss criteria, arithmetic) combine their
inputs: CONNECTED wins, then UNKNOWN, then CUT. A backward receiver is reported only when nothing
CONNECTED survives and either it is CUT outright or one of its cuts severed a CONNECTED value: that
is "no path from the loss to a trainable tensor". GAN discriminator steps (`D(fake.detach())`),
RL targets, distillation teachers and truncated BPTT keep a CONNECTED path and are never reported.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from codemods._torch import Imports, ScopeStackVisitor, disables_grad, dotted

CONNECTED, UNKNOWN, CUT = 2, 1, 0

# Cuts whose removal restores the graph (GF201 can fix them); the others are not differentiable at all.
REMOVABLE = frozenset({"detach", "data"})
NOT_DIFFERENTIABLE = frozenset(
    {"item", "tolist", "numpy", "argmax", "argmin", "long", "int", "bool", "byte", "float()", "int()",
     "comparison", "generate"}
)
_METHOD_CUTS = {"detach": "detach", "item": "item", "tolist": "tolist", "numpy": "numpy", "argmax": "argmax",
                "argmin": "argmin", "long": "long", "int": "int", "bool": "bool", "byte": "byte",
                "generate": "generate"}
# Tensor methods that are differentiable functions of their receiver and arguments.
_PURE_METHODS = frozenset(
    """abs add addmm bmm chunk clamp clip clone contiguous cos cpu cuda div double exp expand expand_as flatten
    float gather half index_select log log_softmax logsumexp masked_fill matmul max mean min mm mul narrow neg norm
    permute pow prod relu repeat reshape select sigmoid sin softmax split sqrt square squeeze std sub sum t tanh
    to transpose type_as unsqueeze var view view_as where bfloat16 diagonal trace roll flip nansum nanmean
    cumsum unbind""".split()
)
# Methods whose arguments are shapes, devices, dtypes, dims or indices: only the receiver carries a graph.
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
_REWRAPS = frozenset({"torch.tensor", "torch.as_tensor", "torch.Tensor", "torch.autograd.Variable"})
_CRITERION_NAME = re.compile(
    r"(^|[._])(criterion|criteria|loss_fn|loss_func|loss_fct|lossfn|loss_function|loss_op|compute_loss)$"
)
# Parameters named like data or labels hold data; any other parameter may be a tensor that carries a graph
# (`student_logits`, `pred`), so it counts as CONNECTED and keeps the rule quiet.
_DATA_PARAMETER = re.compile(
    r"^(x|y|xs|ys|inputs?|targets?|labels?|y_true|gt|ground_truth|masks?|batch|data|images?|imgs?|tokens|"
    r"input_ids|attention_mask|features?|samples?)$|_(labels?|targets?|mask|ids)$"
)
_ACCELERATOR = re.compile(r"(^|\.)(accelerator|fabric|engine|trainer|strategy|deepspeed|model_engine)$")


@dataclass(frozen=True)
class Cut:
    kind: str  # "detach", "data", "item", "argmax", ..., "rewrap", "no_grad"
    node: cst.CSTNode  # the cutting expression (or the `with` statement / decorator for no_grad)
    inner: "Value"  # what flowed into the cut
    inner_expr: cst.BaseExpression | None  # the expression that still had its graph (what a fix restores)
    computed_here: bool  # inner_expr is computation in this scope, not a bare parameter or global
    statement: cst.CSTNode | None = None  # the statement holding the cut


@dataclass(frozen=True)
class Value:
    state: int
    cuts: tuple[Cut, ...] = ()
    patches: tuple[cst.CSTNode, ...] = ()  # `x.requires_grad = True` / `x.requires_grad_()` applied on the way


NOTHING = Value(UNKNOWN)
GRAPH = Value(CONNECTED)
PARAMETER = Value(CONNECTED)  # a function parameter: CONNECTED, but not computed in this scope


def combine(*values: Value) -> Value:
    if not values:
        return NOTHING
    if len(values) == 1:
        return values[0]
    cuts: dict[int, Cut] = {}
    patches: dict[int, cst.CSTNode] = {}
    for value in values:
        for cut in value.cuts:
            cuts.setdefault(id(cut.node), cut)
        for patch in value.patches:
            patches.setdefault(id(patch), patch)
    return Value(max(v.state for v in values), tuple(cuts.values()), tuple(patches.values()))


@dataclass(frozen=True)
class Problem:
    """One reason a backward receiver has no path to trainable state."""

    cut: Cut
    backward: cst.CSTNode  # the backward call it reaches
    patches: tuple[cst.CSTNode, ...]  # requires_grad patches on the way (a fix would make them raise)


@dataclass
class LossFlow:
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def of(cls, module: cst.Module, cache: dict) -> "LossFlow":
        """The analysis of `module`, computed once per pass and shared by the GF2xx rules."""
        key = ("lossflow", id(module))
        if key not in cache:
            cache[key] = _analyse(module, cache)
        return cache[key]


def _analyse(module: cst.Module, cache: dict) -> LossFlow:
    imports = Imports.of(module, cache)
    criteria = _criterion_bindings(module)
    flow = LossFlow()
    seen: set[int] = set()
    for scope, chain, no_grad in _scopes(module):
        walker = _Walker(imports, chain, criteria, no_grad)
        env: dict[str, Value] = {}
        if isinstance(scope, cst.FunctionDef):
            for param in _parameters(scope):
                env[param] = NOTHING if _DATA_PARAMETER.match(param) else PARAMETER
        body = scope.body.body if isinstance(scope, cst.FunctionDef) else scope.body
        if isinstance(scope, cst.FunctionDef) and not isinstance(scope.body, cst.IndentedBlock):
            body = [scope.body]
        walker.walk(body, env)
        for problem in walker.problems:
            key = (id(problem.cut.node), problem.cut.kind)
            if key not in seen:
                seen.add(key)
                flow.problems.append(problem)
    return flow


def _parameters(function: cst.FunctionDef) -> list[str]:
    params = function.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            every.append(star)
    return [p.name.value for p in every]


def _scopes(module: cst.Module):
    """(scope node, scope chain innermost first, no_grad decorator or None) for the module and every function."""
    found = [(module, [module], None)]

    class _Functions(ScopeStackVisitor):
        def entered_function(self, node: cst.FunctionDef) -> None:
            decorator = next((d for d in node.decorators if disables_grad(d.decorator)), None)
            found.append((node, list(reversed(self.stack)), decorator))

    module.visit(_Functions(module))
    return found


def _criterion_bindings(module: cst.Module) -> frozenset[str]:
    """Names (and `self.x` attributes) bound to a loss module: `criterion = nn.CrossEntropyLoss()`."""
    names: set[str] = set()

    class _Bindings(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            if isinstance(node.value, cst.Call) and (dotted(node.value.func) or "").endswith("Loss"):
                for target in node.targets:
                    name = dotted(target.target)
                    if name:
                        names.add(name)

    module.visit(_Bindings())
    return frozenset(names)


class _Walker:
    def __init__(self, imports: Imports, chain, criteria: frozenset[str], no_grad: cst.CSTNode | None):
        self.imports = imports
        self.chain = chain
        self.criteria = criteria
        self.no_grad: cst.CSTNode | None = no_grad  # the `with` / decorator in force, if any
        self.reporting = True
        self.statement: cst.CSTNode | None = None
        self.problems: list[Problem] = []

    # --- statements ---------------------------------------------------------------------------------
    def walk(self, statements, env: dict[str, Value]) -> dict[str, Value]:
        for statement in statements:
            env = self.statement_(statement, env)
        return env

    def statement_(self, statement, env):
        if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            self.statement = statement
            for small in statement.body:
                env = self.small(small, env)
            return env
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            env = dict(env)
            env[statement.name.value] = NOTHING
            return env
        if isinstance(statement, cst.If):
            then = self.walk(_body(statement.body), dict(env))
            otherwise = env
            if isinstance(statement.orelse, cst.If):
                otherwise = self.statement_(statement.orelse, dict(env))
            elif isinstance(statement.orelse, cst.Else):
                otherwise = self.walk(_body(statement.orelse.body), dict(env))
            return _merge(then, otherwise)
        if isinstance(statement, (cst.For, cst.While)):
            entry = dict(env)
            if isinstance(statement, cst.For):
                for name in _names(statement.target):
                    entry[name] = NOTHING  # loop variables hold data
            # Two passes: what the end of one iteration binds reaches the start of the next.
            self.reporting, was_reporting = False, self.reporting
            end = self.walk(_body(statement.body), dict(entry))
            self.reporting = was_reporting
            looped = self.walk(_body(statement.body), _merge(entry, end))
            after = _merge(env, looped)
            if statement.orelse is not None:
                after = self.walk(_body(statement.orelse.body), after)
            return after
        if isinstance(statement, cst.With):
            if any(disables_grad(item.item) for item in statement.items) and self.no_grad is None:
                self.no_grad = statement
                try:
                    return self.walk(_body(statement.body), env)
                finally:
                    self.no_grad = None
            for item in statement.items:
                if item.asname is not None:
                    for name in _names(item.asname.name):
                        env = {**env, name: NOTHING}
            return self.walk(_body(statement.body), env)
        if isinstance(statement, cst.Try):
            after = self.walk(_body(statement.body), dict(env))
            branches = [after]
            for handler in statement.handlers:
                branches.append(self.walk(_body(handler.body), dict(env)))
            merged = _merge(*branches)
            if statement.orelse is not None:
                merged = self.walk(_body(statement.orelse.body), merged)
            if statement.finalbody is not None:
                merged = self.walk(_body(statement.finalbody.body), merged)
            return merged
        if isinstance(statement, cst.Match):
            return _merge(env, *(self.walk(_body(case.body), dict(env)) for case in statement.cases))
        return env

    def small(self, small, env):
        for call in _calls_in(small):
            self.check_backward(call, env)
        if isinstance(small, cst.Assign) and _is_requires_grad_patch(small):
            owner = dotted(small.targets[0].target.value)
            held = env.get(owner, NOTHING)
            return {**env, owner: Value(held.state, held.cuts, held.patches + (self.statement,))}
        if isinstance(small, cst.Assign):
            value = self.guarded(small.value, env)
            for target in small.targets:
                env = self.bind(target.target, small.value, value, env)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            env = self.bind(small.target, small.value, self.guarded(small.value, env), env)
        elif isinstance(small, cst.AugAssign):
            name = dotted(small.target)
            if name:
                env = {**env, name: combine(env.get(name, NOTHING), self.guarded(small.value, env))}
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            env = self.effect(small.value, env)
        return env

    def bind(self, target, value_expr, value: Value, env):
        env = dict(env)
        if isinstance(target, (cst.Tuple, cst.List)):
            elements = value_expr.elements if isinstance(value_expr, (cst.Tuple, cst.List)) else None
            for index, element in enumerate(target.elements):
                if elements is not None and len(elements) == len(target.elements):
                    env = self.bind(element.value, elements[index].value, self.guarded(elements[index].value, env), env)
                else:
                    env = self.bind(element.value, value_expr, value, env)
            return env
        if isinstance(target, cst.StarredElement):
            return self.bind(target.value, value_expr, value, env)
        name = dotted(target)
        if name:
            env[name] = value
        return env

    def effect(self, call: cst.Call, env):
        """Statements that change what a name holds without assigning it: append, extend, requires_grad_()."""
        func = call.func
        if not isinstance(func, cst.Attribute):
            return env
        owner = dotted(func.value)
        if owner is None:
            return env
        method = func.attr.value
        if method in ("append", "extend", "insert", "add") and call.args:
            return {**env, owner: combine(env.get(owner, NOTHING), self.guarded(call.args[-1].value, env))}
        if method == "requires_grad_" and _requires_grad_true(call):
            held = env.get(owner, NOTHING)
            return {**env, owner: Value(held.state, held.cuts, held.patches + (self.statement,))}
        return env

    # --- backward calls -----------------------------------------------------------------------------
    def check_backward(self, call: cst.Call, env) -> None:
        receiver = self.backward_receiver(call)
        if receiver is None or not self.reporting:
            return
        value = self.value(receiver, env)
        if self.no_grad is not None and value.state == CONNECTED:
            # backward() inside the no_grad block itself: nothing in the block has a graph.
            value = Value(CUT, (Cut("no_grad", self.no_grad, value, None, False, self.statement),))
        if value.state == CONNECTED:
            return
        severed = [c for c in value.cuts if c.inner.state == CONNECTED]
        if value.state != CUT and not severed:
            return  # only data and cuts of data: a deliberate target, not a broken loss
        for cut in severed or value.cuts:
            self.problems.append(Problem(cut, call, value.patches))

    def backward_receiver(self, call: cst.Call) -> cst.BaseExpression | None:
        func = call.func
        name = dotted(func) or ""
        if isinstance(func, cst.Attribute) and func.attr.value in ("backward", "manual_backward"):
            owner = dotted(func.value) or ""
            if func.attr.value == "manual_backward" or _ACCELERATOR.search(owner) or owner == "self":
                return _first_arg(call, "loss")
            return func.value
        qualified = self.imports.resolve(func, self.chain) or name
        if qualified in ("torch.autograd.backward", "torch.autograd.grad"):
            return _first_arg(call, "tensors" if qualified.endswith("backward") else "outputs")
        return None

    # --- expressions --------------------------------------------------------------------------------
    def guarded(self, expr, env) -> Value:
        """The value of `expr`, cut if it is computed while gradients are off."""
        value = self.value(expr, env)
        if self.no_grad is not None and (value.state == CONNECTED or any(c.inner.state == CONNECTED for c in value.cuts)):
            return Value(CUT, (Cut("no_grad", self.no_grad, value, None, False, self.statement),), value.patches)
        return value

    def value(self, expr, env) -> Value:
        name = dotted(expr)
        if name is not None and name in env:
            return env[name]
        if isinstance(expr, cst.Name):
            return NOTHING
        if isinstance(expr, cst.Attribute):
            if expr.attr.value == "data":
                return self.cut("data", expr, expr.value, env)
            if isinstance(expr.value, cst.Name) and expr.value.value == "self":
                return GRAPH  # a module attribute: a parameter or a submodule's output
            return self.value(expr.value, env)
        if isinstance(expr, cst.Subscript):
            return self.value(expr.value, env)
        if isinstance(expr, cst.BinaryOperation):
            return combine(self.value(expr.left, env), self.value(expr.right, env))
        if isinstance(expr, cst.UnaryOperation):
            return self.value(expr.expression, env)
        if isinstance(expr, cst.Comparison):
            return self.cut("comparison", expr, expr.left, env)
        if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
            return combine(*(self.value(e.value, env) for e in expr.elements))
        if isinstance(expr, cst.Dict):
            return combine(*(self.value(e.value, env) for e in expr.elements if isinstance(e, cst.DictElement)))
        if isinstance(expr, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            return self.value(expr.elt, env)
        if isinstance(expr, cst.IfExp):
            return combine(self.value(expr.body, env), self.value(expr.orelse, env))
        if isinstance(expr, cst.Await):
            return self.value(expr.expression, env)
        if isinstance(expr, cst.Call):
            return self.call(expr, env)
        return NOTHING

    def cut(self, kind: str, node, inner_expr, env) -> Value:
        inner = self.value(inner_expr, env)
        cut = Cut(kind, node, inner, inner_expr, self.computed_here(inner_expr, env), self.statement)
        return Value(CUT, (cut,), inner.patches)

    def computed_here(self, expr, env) -> bool:
        """True when `expr` is computation in this scope (a call, arithmetic), or a name this scope assigned."""
        if isinstance(expr, (cst.Call, cst.BinaryOperation, cst.UnaryOperation, cst.Subscript)):
            return True
        name = dotted(expr)
        return bool(name and name in env and env[name] is not PARAMETER and env[name] is not NOTHING)

    def call(self, call: cst.Call, env) -> Value:
        func = call.func
        args = [self.value(a.value, env) for a in call.args]
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            owner = func.value
            owner_name = dotted(owner) or ""
            if owner_name in self.criteria or _CRITERION_NAME.search(owner_name + "." + method):
                return combine(*args)
            qualified = self.imports.resolve(func, self.chain)
            if qualified is not None and qualified.startswith("torch."):
                return self.torch_function(qualified, call, args, env)
            if qualified is not None and qualified.split(".")[0] in _DATA_MODULES:
                return NOTHING
            if method in _METHOD_CUTS and not (method == "detach" and call.args):
                return self.cut(_METHOD_CUTS[method], call, owner, env)
            if method == "requires_grad_":
                return self.requires_grad_call(call, owner, env)
            if method == "scale":  # AMP: scaler.scale(loss) is the loss, scaled
                return combine(*args)
            if method in _RECEIVER_ONLY:
                return self.value(owner, env)
            if method in _PURE_METHODS:
                return combine(self.value(owner, env), *args)
            return GRAPH  # a method of something that may own parameters: model.encode(x)
        name = dotted(func) or ""
        if name in self.criteria or _CRITERION_NAME.search(name):
            return combine(*args)
        qualified = self.imports.resolve(func, self.chain) or ""
        if qualified.startswith("torch."):
            return self.torch_function(qualified, call, args, env)
        if qualified.split(".")[0] in _DATA_MODULES:
            return NOTHING
        if name in ("sum", "max", "min", "abs", "sorted", "list", "tuple"):
            return combine(*args)
        if name in ("float", "int") and call.args:
            return self.cut(f"{name}()", call, call.args[0].value, env)
        if name in ("len", "range", "print", "isinstance", "str", "repr", "enumerate", "zip"):
            return NOTHING
        return GRAPH  # a model, a submodule, or a function we cannot see into

    def torch_function(self, qualified: str, call: cst.Call, args, env) -> Value:
        short = qualified.rsplit(".", 1)[-1]
        requires_grad = _keyword_true(call, "requires_grad")
        if qualified in _REWRAPS:
            data = call.args[0].value if call.args and call.args[0].keyword is None else None
            if data is not None and requires_grad and self.from_graph(data, env):
                return self.rewrap(call, data, env)
            if data is not None and self.from_graph(data, env):
                return self.cut("rewrap", call, data, env)
            return GRAPH if requires_grad else NOTHING  # a fresh leaf (trainable if it asks for grad)
        if short in _FACTORIES:
            return GRAPH if requires_grad else NOTHING
        if short in ("argmax", "argmin") and call.args:
            return self.cut(short, call, call.args[0].value, env)
        if qualified.startswith("torch.nn.") and not qualified.startswith("torch.nn.functional."):
            return GRAPH  # constructing or calling a module
        return combine(*args)

    def requires_grad_call(self, call: cst.Call, owner, env) -> Value:
        base = owner
        while isinstance(base, cst.Call) and isinstance(base.func, cst.Attribute) and base.func.attr.value == "clone":
            base = base.func.value
        detached = isinstance(base, cst.Call) and isinstance(base.func, cst.Attribute) and base.func.attr.value == "detach"
        if detached or (isinstance(base, cst.Attribute) and base.attr.value == "data"):
            inner = base.func.value if detached else base.value
            if self.from_graph(inner, env):
                return self.rewrap(call, inner, env)
        held = self.value(owner, env)
        if held.state != CONNECTED and _requires_grad_true(call):
            return Value(held.state, held.cuts, held.patches + (self.statement,))
        return held

    def rewrap(self, call, data, env) -> Value:
        underlying = _strip_cuts(data)
        inner = self.value(underlying, env)
        cut = Cut("rewrap", call, inner, underlying, self.computed_here(underlying, env), self.statement)
        return Value(CUT, (cut,), inner.patches)

    def from_graph(self, expr, env) -> bool:
        """True when `expr` is derived from a value with a graph (a loss, a model output), not from plain data."""
        value = self.value(_strip_cuts(expr), env)
        return value.state == CONNECTED or any(c.inner.state == CONNECTED for c in value.cuts)


def _strip_cuts(expr):
    """`loss.item()`, `loss.data`, `loss.detach().clone()` -> `loss`: the tensor a re-wrap copied."""
    while True:
        if isinstance(expr, cst.Attribute) and expr.attr.value == "data":
            expr = expr.value
        elif (
            isinstance(expr, cst.Call)
            and not expr.args
            and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value in ("item", "detach", "clone", "cpu")
        ):
            expr = expr.func.value
        else:
            return expr


def _is_requires_grad_patch(assign: cst.Assign) -> bool:
    """`loss.requires_grad = True`."""
    target = assign.targets[0].target
    return (
        len(assign.targets) == 1
        and isinstance(target, cst.Attribute)
        and target.attr.value == "requires_grad"
        and dotted(target.value) is not None
        and isinstance(assign.value, cst.Name)
        and assign.value.value == "True"
    )


def _requires_grad_true(call: cst.Call) -> bool:
    if not call.args:
        return True
    value = call.args[0].value
    return isinstance(value, cst.Name) and value.value == "True"


def _keyword_true(call: cst.Call, keyword: str) -> bool:
    return any(
        a.keyword is not None and a.keyword.value == keyword and isinstance(a.value, cst.Name) and a.value.value == "True"
        for a in call.args
    )


def _first_arg(call: cst.Call, keyword: str):
    for arg in call.args:
        if arg.keyword is None and not arg.star:
            return arg.value
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    return None


def _body(suite):
    return suite.body if isinstance(suite, cst.IndentedBlock) else [suite]


def _names(target) -> list[str]:
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _names(e.value)]
    if isinstance(target, cst.StarredElement):
        return _names(target.value)
    name = dotted(target)
    return [name] if name else []


def _merge(*envs: dict[str, Value]) -> dict[str, Value]:
    merged: dict[str, Value] = {}
    for name in {n for env in envs for n in env}:
        values = [env[name] for env in envs if name in env]
        first = values[0]
        merged[name] = first if all(v is first for v in values) else combine(*values)
    return merged


class _CallCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def _calls_in(small) -> list[cst.Call]:
    collector = _CallCollector()
    small.visit(collector)
    return collector.calls


class LossFlowRule:
    """Mixin for the GF2xx rules: runs the shared analysis once per tree and hands each problem to `check`."""

    def visit_Module(self, node: cst.Module) -> None:
        for problem in LossFlow.of(node, self.context.cache).problems:
            self.check(problem)

    def check(self, problem: Problem) -> None:  # pragma: no cover - each rule overrides it
        raise NotImplementedError

    def backward_line(self, problem: Problem) -> int:
        return self.position(problem.backward).start.line

    def cut_line(self, problem: Problem) -> int:
        return self.position(problem.cut.node).start.line


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
