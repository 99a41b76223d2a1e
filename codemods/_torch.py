"""Helpers shared by the rules: how a file names torch, where `no_grad` is in force, what looks like a tensor.

Nothing here is rule-specific; everything is lexical (no type inference), so each heuristic errs on the side
of not firing.
"""
from __future__ import annotations

import functools
import re
from typing import Iterable, TypeAlias

from autofix.lazy import libcst as cst
from autofix.rule import AddImport
from autofix.semantic import MOVERS

ScopeNode: TypeAlias = "cst.CSTNode"  # cst.Module | cst.FunctionDef | cst.ClassDef


class AnyWord:
    """A rule's prefilter (or part of one) that admits a file when any of its words occurs in it: substring tests,
    which are much cheaper than an alternation regex that is tried at every position of a file that lacks them."""

    def __init__(self, *words: str):
        self.words = words

    def search(self, text: str) -> bool:
        return any(word in text for word in self.words)


class AllOf:
    """A rule's prefilter that admits a file only when every one of its parts (patterns or `AnyWord`s) matches
    somewhere in it: each is a plain search (a lookahead over the whole text would be tried from every position)."""

    def __init__(self, *parts: "re.Pattern[str] | AnyWord"):
        self.parts = parts

    def search(self, text: str) -> bool:
        return all(p.search(text) for p in self.parts)


def dotted(expr: cst.BaseExpression) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if not isinstance(expr, cst.Name):
        return None
    parts.append(expr.value)
    return ".".join(reversed(parts))


@functools.cache
def _empty_module() -> cst.Module:
    return cst.Module(body=[])


def source_of(node: cst.CSTNode) -> str:
    """The source text of a node (with default formatting for nodes a fix built)."""
    return _empty_module().code_for_node(node)


class Imports:
    """Import bindings per scope (the module and every function), so a fix uses the names the file binds."""

    def __init__(self, module: cst.Module):
        self.bindings: dict[int, dict[str, str]] = {}
        self._collect(module.body, module)

    def _collect(self, statements, scope: ScopeNode) -> None:
        # Imports are statements, so only statement lists are walked: a visitor over the whole module would
        # also visit every expression, which on the large files that have fixes costs more than the fix.
        for statement in statements:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        self._bind_import(small, scope)
            elif isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                self._collect(_statements_of(statement.body), statement)
            elif isinstance(statement, (cst.Import, cst.ImportFrom)):  # a small statement of a one-line suite
                self._bind_import(statement, scope)
            else:
                for suite in _suites_of(statement):
                    self._collect(_statements_of(suite), scope)

    def _bind_import(self, node: cst.Import | cst.ImportFrom, scope: ScopeNode) -> None:
        names = self.bindings.setdefault(id(scope), {})
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = source_of(alias.name)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    names[alias.asname.name.value] = full
                else:
                    head = full.split(".")[0]
                    names[head] = head
            return
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return
        base = source_of(node.module)
        for alias in node.names:
            name = source_of(alias.name)
            bound = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
            names[bound] = f"{base}.{name}"

    @classmethod
    def of(cls, module: cst.Module, cache: dict) -> "Imports":
        """The index of `module`, built once per pass and shared by every rule (through FileContext.cache)."""
        key = ("imports", id(module))
        if key not in cache:
            cache[key] = cls(module)
        return cache[key]

    def _in_chain(self, chain: list[ScopeNode]) -> Iterable[tuple[ScopeNode, dict[str, str]]]:
        # Innermost first. A class body's names are not visible inside its methods, so a class scope counts
        # only when it is the innermost scope.
        for index, scope in enumerate(chain):
            if isinstance(scope, cst.ClassDef) and index > 0:
                continue
            yield scope, self.bindings.get(id(scope), {})

    def resolve(self, expr: cst.BaseExpression, chain: list[ScopeNode]) -> str | None:
        """The fully qualified name of `expr` (`nn.init.zeros_` -> `torch.nn.init.zeros_`), or None."""
        name = dotted(expr)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        for _, names in self._in_chain(chain):
            if head in names:
                return names[head] + ("." + rest if rest else "")
        return None

    def bound_to(self, qualified: str, chain: list[ScopeNode]) -> str | None:
        """The name the scope `chain` binds to exactly `qualified` (`ModuleList` for `from torch.nn import
        ModuleList`), or None."""
        for _, names in self._in_chain(chain):
            for bound, target in names.items():
                if target == qualified:
                    return bound
        return None

    def torch_attr(self, attr: str, chain: list[ScopeNode]) -> tuple[cst.BaseExpression, AddImport | None]:
        """An expression for `torch.<attr>` in the given scope, and the import to add if none binds it."""
        # The name the file already uses wins: `nn` where it binds `from torch import nn`, even if it binds
        # `torch` too (a fix reads as the code around it); `torch.<attr>` otherwise.
        direct = self.bound_to(f"torch.{attr}", chain)
        if direct is not None:
            return cst.Name(direct), None
        for _, names in self._in_chain(chain):
            for bound, qualified in names.items():
                if qualified == "torch":
                    return cst.Attribute(cst.Name(bound), cst.Name(attr)), None
        return cst.Attribute(cst.Name("torch"), cst.Name(attr)), AddImport(self.import_scope(chain), "import torch")

    def import_scope(self, chain: list[ScopeNode]) -> ScopeNode:
        """Where a new `import torch` goes: the innermost function that already imports torch lazily, else the module.

        Hoisting a lazy import to module level would make importing the file import torch, which such
        code avoids on purpose.
        """
        for scope, names in self._in_chain(chain):
            if isinstance(scope, cst.FunctionDef) and any(q.split(".")[0] == "torch" for q in names.values()):
                return scope
        return chain[-1]


def _statements_of(suite) -> list:
    """The statements of a suite: an indented block's lines, or the small statements of `if x: a; b`."""
    return list(suite.body) if isinstance(suite, (cst.IndentedBlock, cst.SimpleStatementSuite)) else []


def _suites_of(statement) -> list:
    """The suites of a compound statement other than a def or class: bodies, else/elif, handlers, finally, cases."""
    suites = []
    for name in ("body", "orelse", "finalbody"):
        part = getattr(statement, name, None)
        if isinstance(part, cst.If):  # elif: its body and its own else/elif
            suites.extend(_suites_of(part))
        elif isinstance(part, (cst.Else, cst.Finally)):
            suites.append(part.body)
        elif isinstance(part, cst.BaseSuite):
            suites.append(part)
    for handler in getattr(statement, "handlers", ()):
        suites.append(handler.body)
    for case in getattr(statement, "cases", ()):
        suites.append(case.body)
    return suites


def scope_chain(node: cst.CSTNode, parent_of) -> list[ScopeNode]:
    """The enclosing scopes of `node`, innermost first, ending with the module."""
    chain: list[ScopeNode] = []
    current = parent_of(node)
    while current is not None:
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Module)):
            chain.append(current)
        current = parent_of(current)
    return chain


# --- where gradients are already off ---------------------------------------------------------------

def _is_true(arg: cst.Arg) -> bool:
    return isinstance(arg.value, cst.Name) and arg.value.value == "True"


def disables_grad(expr: cst.BaseExpression, inference_mode: bool = True) -> bool:
    """`torch.no_grad()`, `torch.set_grad_enabled(False)`, `torch.inference_mode()` (unless `inference_mode` is
    False), and the bare decorators, spelled with any alias."""
    call = expr if isinstance(expr, cst.Call) else None
    name = (dotted(call.func if call else expr) or "").split(".")[-1]
    if name == "set_grad_enabled":
        return bool(call and len(call.args) == 1 and isinstance(call.args[0].value, cst.Name)
                    and call.args[0].value.value == "False")
    if name == "inference_mode":
        return inference_mode and not (call and call.args and not _is_true(call.args[0]))
    return name == "no_grad" and not (call and call.args)


def under_no_grad(node: cst.CSTNode, parent_of) -> bool:
    """True when `node` runs with gradients off: inside `with torch.no_grad():` or a `@torch.no_grad()` function.

    Stops at the innermost function: a nested function's body does not run in its definer's `with` block.
    """
    current = parent_of(node)
    while current is not None:
        # In-place writes under inference_mode behave differently, so only no_grad counts here.
        if isinstance(current, cst.With) and any(disables_grad(i.item, inference_mode=False) for i in current.items):
            return True
        if isinstance(current, (cst.FunctionDef, cst.Lambda)):
            return isinstance(current, cst.FunctionDef) and any(
                disables_grad(d.decorator, inference_mode=False) for d in current.decorators
            )
        current = parent_of(current)
    return False


# --- what looks like a parameter -------------------------------------------------------------------

# Names that mean a tensor in PyTorch code: `p`, `w`, `param`, `weight`, `bias`, `in_proj_weight`,
# `weight_hh_l0`, `running_mean`. `.data` on anything else (`dataset.data`, `batch.data`) is not ours.
_PARAMETER_NAME = re.compile(
    r"^(p|w|param|parameter|weight|bias|grad|[a-z0-9_]*_(weight|bias|param|parameter)|(weight|bias)_[a-z0-9_]+"
    r"|running_(mean|var))$",
    re.IGNORECASE,
)
_PARAMETER_ITERABLE = re.compile(r"(\bparameters\(|\bnamed_parameters\(|\bbuffers\(|\[\s*['\"]params['\"]\s*\])")


def looks_like_parameter(expr: cst.BaseExpression, node: cst.CSTNode, parent_of) -> bool:
    """True when `expr` (the `X` of `X.data`) is, by name or by how it was bound, a tensor or parameter."""
    if isinstance(expr, cst.Attribute):
        return bool(_PARAMETER_NAME.match(expr.attr.value))
    if not isinstance(expr, cst.Name):
        return False
    if _PARAMETER_NAME.match(expr.value):
        return True
    return _bound_by_parameter_loop(expr.value, node, parent_of)


def _bound_by_parameter_loop(name: str, node: cst.CSTNode, parent_of) -> bool:
    """`for p in model.parameters():`, `for n, p in m.named_parameters():`, `for p in group['params']:`."""
    current = parent_of(node)
    while current is not None and not isinstance(current, (cst.FunctionDef, cst.Module)):
        if isinstance(current, (cst.For, cst.CompFor)):
            target = current.target
            if isinstance(target, cst.Tuple) and target.elements:
                target = target.elements[-1].value
            if isinstance(target, cst.Name) and target.value == name:
                return bool(_PARAMETER_ITERABLE.search(source_of(current.iter)))
        current = parent_of(current)
    return False


# --- where tensors come from ----------------------------------------------------------------------

# Tensor methods that return a converted copy (a new, non-leaf tensor when the input requires grad): device
# and dtype moves. One list for the model and the fixes (autofix.semantic.MOVERS).


def requests_grad(call: cst.Call) -> bool:
    """`requires_grad=True` passed literally."""
    return any(a.keyword is not None and a.keyword.value == "requires_grad" and _is_true(a) for a in call.args)


def is_mover(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in MOVERS


def mover_chain(call: cst.Call) -> tuple[cst.BaseExpression, list[cst.Call]]:
    """For `base.cuda().double()`: (`base`, [the `.cuda()` call, the `.double()` call]), innermost first."""
    movers: list[cst.Call] = []
    expr: cst.BaseExpression = call
    while is_mover(expr):
        movers.append(expr)
        expr = expr.func.value
    return expr, list(reversed(movers))


def outermost_mover(call: cst.Call, parent_of) -> bool:
    """True when `call` is a mover that is not itself the receiver of another mover (`x.cuda()` in `x.cuda().double()`)."""
    attribute = parent_of(call)
    return not (isinstance(attribute, cst.Attribute) and attribute.attr.value in MOVERS and is_mover(parent_of(attribute)))


def moved_call(node: cst.Call, parent_of, module: cst.Module, cache: dict):
    """For the outermost mover of `factory(...).cuda().double()`: (the factory call, the movers, the factory's
    qualified name); None when `node` is not such a chain."""
    if not is_mover(node) or not outermost_mover(node, parent_of):
        return None
    base, movers = mover_chain(node)
    if not isinstance(base, cst.Call):
        return None
    qualified = Imports.of(module, cache).resolve(base.func, scope_chain(node, parent_of)) or ""
    return base, movers, qualified


# `torch.optim.SGD`, `torch.optim.adam.Adam`: optimizer classes (schedulers live in torch.optim.lr_scheduler).
_OPTIMIZER_CLASS = re.compile(r"^torch\.optim\.(\w+\.)?[A-Z]\w*$")


def is_optimizer_class(qualified: str) -> bool:
    return bool(_OPTIMIZER_CLASS.match(qualified)) and "lr_scheduler" not in qualified


def replay_movers(base: cst.BaseExpression, movers: list[cst.Call]) -> cst.BaseExpression:
    """The same chain of mover calls, applied to a new receiver."""
    expr = receiver(base)
    for mover in movers:
        expr = mover.with_changes(func=mover.func.with_changes(value=expr))
    return expr


def receiver(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`expr`, parenthesised when it cannot take `.attr` as it is (`a + b` -> `(a + b)`)."""
    plain = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.List, cst.Tuple, cst.Dict, cst.SimpleString)
    if isinstance(expr, plain) or expr.lpar:
        return expr
    return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def without_argument(call: cst.Call, keyword: str) -> cst.Call:
    """`call` with the keyword argument removed (commas kept tidy)."""
    args = list(call.args)
    index = next(i for i, a in enumerate(args) if a.keyword is not None and a.keyword.value == keyword)
    removed = args.pop(index)
    if args and index == len(args):
        args[-1] = args[-1].with_changes(comma=removed.comma)
    return call.with_changes(args=args)


# --- where a backward pass is in sight ---------------------------------------------------------------

_BACKWARD_METHODS = frozenset({"backward", "manual_backward"})


@functools.cache
def _backward_calls() -> type:
    """The visitor class, made on first use: a LibCST base class would import LibCST with this module."""

    class BackwardCalls(cst.CSTVisitor):
        """Finds backward passes: `x.backward()`, `self.manual_backward(x)`, `torch.autograd.backward/grad(...)`.

        `backward` says whether a backward() call was seen (autograd.grad does not count: it fills no `.grad`);
        `gradient` whether any of them, or autograd.grad, was; `higher_order` whether one keeps the graph
        (`create_graph=` / `retain_graph=`). Nested functions and lambdas are their own business.
        """

        def __init__(self) -> None:
            super().__init__()
            self.backward = False
            self.gradient = False
            self.higher_order = False

        def visit_Call(self, node: cst.Call) -> None:
            name = dotted(node.func) or ""
            if (isinstance(node.func, cst.Attribute) and node.func.attr.value in _BACKWARD_METHODS) or name.endswith(
                "autograd.backward"
            ):
                self.backward = self.gradient = True
            elif name.endswith("autograd.grad"):
                self.gradient = True
                return
            else:
                return
            if any(a.keyword is not None and a.keyword.value in ("create_graph", "retain_graph") for a in node.args):
                self.higher_order = True

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    return BackwardCalls


def runs_backward(scope: cst.CSTNode) -> bool:
    """True when the body of `scope` (a function or module) calls backward()/autograd.grad itself."""
    finder = _backward_calls()()
    body = scope.body
    for statement in body.body if isinstance(body, cst.BaseSuite) else body:
        statement.visit(finder)
    return finder.gradient


def no_grad_block(imports: Imports, chain: list[ScopeNode], body: list, leading_lines=()):
    """`with torch.no_grad():` around `body` (statements), spelled with the file's names; and the import to add."""
    no_grad, request = imports.torch_attr("no_grad", chain)
    block = cst.With(
        items=[cst.WithItem(cst.Call(func=no_grad))],
        body=cst.IndentedBlock(body=body),
        leading_lines=leading_lines,
    )
    return block, (request,) if request else ()
