"""A textual net for recall: every statement of a tree that a rule family could be about, found without autofix.

    python bench/candidates.py PATH [--family GF1]      # list the candidates of one tree

The net reads Python's `ast` and nothing of autofix's semantic model, so what the model misses shows up here as a
candidate that no finding matches. It is deliberately wide: it matches spellings, not meanings, and whoever reads
a silent candidate decides whether the rule should have seen it (bench/triage.tsv).

Families and their shapes (the `shape` tag of each candidate):
- GF1, writes through an alias autograd does not track:
  `X.data.<inplace>_(...)` (data-inplace), `X.detach().<inplace>_(...)` (detach-inplace), the same through
  subscripts and views (`X.data[i].zero_()`, `X.data.view(-1).copy_(v)`), `X.data[...] = v` (data-setitem),
  `X.data += v` / `X.data[...] += v` (data-augassign), `X.data = v` where X is not `self`/`cls` (data-assign),
  `f_(X.data, ...)` such as `nn.init.normal_(w.data)` (init-on-data), `torch.op(..., out=X.data)` (data-out).
  In-place means a method name ending in one `_` (not a dunder); requires_grad_, share_memory_, detach_ and
  retain_grad change no values and are left out.
- GF2, re-wraps and backward: `torch.tensor(E, requires_grad=True)` / `Variable(E, requires_grad=True)` where E is
  computed (not a literal, not a shape factory such as `torch.zeros(3)`) (rewrap-*); `X.requires_grad = True` and
  `X.requires_grad_()` except on a parameter-like X (`*.weight`, `*.bias`, a loop variable over `.parameters()`) or a
  factory (requires-grad-patch); and every `.backward(` / `.manual_backward(` call (backward). Without
  requires_grad a re-wrap alone makes backward() raise, which is loud; one summed into a loss is read at the
  loss's backward candidate.
- GF3, in-place writes inside a `forward` or a function of the same file that a `forward` calls (by name:
  `self.f(...)` or `f(...)`): augmented assignments, `X[...] = v`, `X.<inplace>_(...)`, tagged by what is written:
  `input` (an argument of the function, not rebound before the write), `self` (an attribute of self), `local`
  (another name) or `other`, e.g. `input-augassign`.
- GF4, every `.backward(` or `manual_backward(` with the `step()`/`zero_grad()` calls of the same function
  (recorded in the candidate's text as the order in which they appear).

Notebooks: their code cells are joined in order and read as one module; a candidate is named by its cell and the
line in that cell, as autofix reports a notebook finding (`nb.ipynb[cell 3]`, line 2).
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterable, Iterator

FAMILIES = ("GF1", "GF2", "GF3", "GF4")
# Directories autofix (like ruff) never scans by default.
SKIPPED_DIRS = frozenset({
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", ".eggs", "__pycache__", "node_modules", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".autofix_cache", "build", "dist", "site-packages", ".ipynb_checkpoints",
})
INPLACE = re.compile(r"^(?!__)[A-Za-z]\w*[A-Za-z0-9]_$")
NOT_VALUE_WRITES = frozenset({"requires_grad_", "share_memory_", "retain_grad", "record_stream", "detach_"})
# Calls that return a view of their receiver: a write into the view is a write into the receiver.
VIEWS = frozenset({
    "view", "view_as", "reshape", "t", "transpose", "permute", "narrow", "select", "squeeze", "unsqueeze", "flatten",
    "expand", "expand_as", "diagonal", "unflatten", "chunk", "split", "unbind", "as_strided", "movedim", "T", "mT",
})


@dataclass(frozen=True)
class Candidate:
    path: str  # relative to the tree, "/"-separated, as autofix reports it
    line: int  # first line of the statement
    end_line: int  # last line of the statement
    family: str
    shape: str
    text: str  # the statement's first line, stripped, for whoever reads it

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.path, str(self.line), self.family)


def dotted(node: ast.AST) -> str:
    """`a.b.c` for a Name/Attribute chain, with `()` and `[]` for calls and subscripts on the way."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{dotted(node.func)}()"
    if isinstance(node, ast.Subscript):
        return f"{dotted(node.value)}[]"
    return "?"


# ---------------------------------------------------------------------------------------------------- GF1

def _alias_kind(node: ast.AST) -> str | None:
    """'data' or 'detach' when `node` is `X.data` / `X.detach()`, or a subscript or view of one."""
    while True:
        if isinstance(node, ast.Subscript):
            node = node.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in VIEWS):
            node = node.func.value
        elif isinstance(node, ast.Attribute) and node.attr in ("T", "mT"):
            node = node.value
        else:
            break
    if isinstance(node, ast.Attribute) and node.attr == "data":
        return "data"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "detach":
        return "detach"
    return None


def _is_data(node: ast.AST) -> bool:
    return _alias_kind(node) == "data"


def _gf1_shapes(statement: ast.stmt) -> Iterator[str]:
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            for element in (target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]):
                if isinstance(element, ast.Subscript) and _alias_kind(element.value):
                    yield f"{_alias_kind(element.value)}-setitem"
                elif (isinstance(element, ast.Attribute) and element.attr == "data"
                      and not (isinstance(element.value, ast.Name) and element.value.id in ("self", "cls"))):
                    yield "data-assign"
    if isinstance(statement, ast.AugAssign):
        target = statement.target
        if (isinstance(target, ast.Attribute) and target.attr == "data") or (
                isinstance(target, ast.Subscript) and _alias_kind(target.value)):
            yield "data-augassign"
    for node in _own_nodes(statement):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and INPLACE.match(func.attr) and func.attr not in NOT_VALUE_WRITES:
            kind = _alias_kind(func.value)
            if kind:
                yield f"{kind}-inplace"
                continue
        # An in-place function (not a method: `grad.add_(p.data)` writes to grad) given `X.data` first: nn.init.
        name = func.id if isinstance(func, ast.Name) else ""
        if isinstance(func, ast.Attribute) and dotted(func.value).split(".")[-1] == "init":
            name = func.attr
        if INPLACE.match(name) and node.args and _is_data(node.args[0]):
            yield "init-on-data"
        if any(k.arg == "out" and _is_data(k.value) for k in node.keywords):
            yield "data-out"


def _own_nodes(statement: ast.stmt) -> Iterator[ast.AST]:
    """The nodes of `statement` outside its nested statements and function/class bodies (each checked on its own)."""
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.stmt, ast.Lambda)) and child is not statement:
                if isinstance(child, ast.Lambda):
                    stack.append(child)  # a lambda's body is an expression of this statement
                continue
            stack.append(child)


# ---------------------------------------------------------------------------------------------------- GF2

_REWRAPS = frozenset({"tensor", "Variable"})
# Factories whose first argument is a shape or a literal: `torch.zeros(3, requires_grad=True)` is a new leaf on purpose.
_FACTORIES = frozenset({
    "zeros", "ones", "empty", "full", "rand", "randn", "randint", "arange", "linspace", "logspace", "eye", "zeros_like",
    "ones_like", "empty_like", "full_like", "rand_like", "randn_like", "randint_like", "normal", "randperm",
})


def _is_literal(node: ast.AST) -> bool:
    """A constant, or a list/tuple/set or unary operation of constants: not a computed value."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp):
        return _is_literal(node.operand)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return all(_is_literal(e) for e in node.elts)
    return False


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _is_factory_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _call_name(node) in _FACTORIES


def _true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _parameter_loop_names(function: ast.AST | None) -> set[str]:
    """Loop variables over `.parameters()` / `.named_parameters()`: `p.requires_grad = True` on them unfreezes."""
    names: set[str] = set()
    for node in ast.walk(function) if function is not None else ():
        if (isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.iter, ast.Call)
                and _call_name(node.iter) in ("parameters", "named_parameters")):
            names.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
    return names


def _leaf_like(node: ast.AST, parameter_loops: set[str]) -> bool:
    """A parameter-like receiver of a requires_grad patch: `layer.weight`, `self.bias`, a loop variable over parameters()."""
    if isinstance(node, ast.Attribute) and node.attr in ("weight", "bias"):
        return True
    return isinstance(node, ast.Name) and node.id in parameter_loops


def _gf2_shapes(statement: ast.stmt, parameter_loops: set[str]) -> Iterator[str]:
    for node in _own_nodes(statement):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        requires_grad = next((k.value for k in node.keywords if k.arg == "requires_grad"), None)
        if name in _REWRAPS and _true(requires_grad) and node.args and not _is_literal(node.args[0]) \
                and not _is_factory_call(node.args[0]):
            yield f"rewrap-{name}"
        elif name == "requires_grad_" and isinstance(node.func, ast.Attribute) and not (
                node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value is False) \
                and not _leaf_like(node.func.value, parameter_loops) and not _is_factory_call(node.func.value):
            yield "requires-grad-patch"
        elif name in ("backward", "manual_backward") and isinstance(node.func, ast.Attribute):
            yield "backward"
    if isinstance(statement, ast.Assign) and _true(statement.value):
        for target in statement.targets:
            if isinstance(target, ast.Attribute) and target.attr == "requires_grad" \
                    and not _leaf_like(target.value, parameter_loops):
                yield "requires-grad-patch"


# ---------------------------------------------------------------------------------------------------- GF3

def _gf3_writes(statement: ast.stmt) -> Iterator[tuple[str, ast.AST]]:
    """(how, written expression) for each in-place write of the statement."""
    if isinstance(statement, ast.AugAssign):
        yield "augassign", statement.target
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            if isinstance(target, ast.Subscript):
                yield "setitem", target.value
    for node in _own_nodes(statement):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and INPLACE.match(node.func.attr)
                and node.func.attr not in NOT_VALUE_WRITES):
            yield "inplace-method", node.func.value
            break


def _base(node: ast.AST) -> ast.AST:
    """What a write lands in, through subscripts and views: `x[i].view(-1)` -> `x`; `self.a.b` stays whole."""
    while True:
        if isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in VIEWS:
            node = node.func.value
        else:
            return node


def _rebound_before(function: ast.AST, name: str, line: int) -> bool:
    """True when `name` is bound by a plain assignment, a loop or a with in `function` before `line`."""
    for node in ast.walk(function):
        if getattr(node, "lineno", line) >= line:
            continue
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.For, ast.AsyncFor, ast.comprehension, ast.NamedExpr)):
            targets = [node.target]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        if any(n.id == name for t in targets for n in _bound_names(t)):
            return True
    return False


def _bound_names(target: ast.AST) -> Iterator[ast.Name]:
    """The names a target binds: `x`, `(x, y)`, `*x`; not the `x` of `x[i] = v` or `x.a = v`, which write into it."""
    if isinstance(target, ast.Name):
        yield target
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _bound_names(element)
    elif isinstance(target, ast.Starred):
        yield from _bound_names(target.value)


def _gf3_shapes(statement: ast.stmt, function: ast.AST) -> Iterator[str]:
    """`<target>-<how>`: target `input` (an argument of the function, not rebound before the write), `self`
    (an attribute of self), `local` (any other name) or `other`."""
    arguments = {a.arg for a in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs)}
    arguments |= {a.arg for a in (function.args.vararg, function.args.kwarg) if a is not None}
    arguments -= {"self", "cls"}
    for how, written in _gf3_writes(statement):
        base = _base(written)
        root = base
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(base, ast.Name) and base.id in arguments and not _rebound_before(function, base.id, statement.lineno):
            target = "input"
        elif isinstance(root, ast.Name) and root.id in ("self", "cls"):
            target = "self"
        elif isinstance(base, ast.Name):
            target = "local"
        else:
            target = "other"
        yield f"{target}-{how}"


def _forward_reach(tree: ast.Module) -> set[ast.AST]:
    """`forward` methods and the functions and methods of this file they call by name, transitively."""
    by_name: dict[str, list[ast.AST]] = {}
    forwards: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            by_name.setdefault(node.name, []).append(node)
            if node.name == "forward":
                forwards.append(node)
    reached: set[ast.AST] = set()
    todo = list(forwards)
    while todo:
        function = todo.pop()
        if function in reached:
            continue
        reached.add(function)
        for node in ast.walk(function):
            if isinstance(node, ast.Call):
                func = node.func
                name = None
                if isinstance(func, ast.Name):
                    name = func.id
                elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
                    name = func.attr
                if name and name != "forward":
                    todo.extend(by_name.get(name, ()))
    return reached


# ---------------------------------------------------------------------------------------------------- GF4

_STEP_CALLS = ("step", "zero_grad", "backward", "manual_backward")


def _gf4_context(function: ast.AST) -> str:
    """The order of backward/step/zero_grad calls in a function body, e.g. `zero_grad backward step`."""
    calls = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _STEP_CALLS:
            calls.append((node.lineno, node.col_offset, f"{dotted(node.func.value)}.{node.func.attr}"))
    return " ".join(c[2] for c in sorted(calls))


# ---------------------------------------------------------------------------------------------------- walking

def _statements(body: Iterable[ast.stmt], owner: ast.AST | None) -> Iterator[tuple[ast.stmt, ast.AST | None]]:
    """Every statement with the innermost function that holds it (None at module or class level)."""
    for statement in body:
        yield statement, owner
        inner = statement if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) else owner
        for field in ("body", "orelse", "finalbody"):
            yield from _statements(getattr(statement, field, None) or [], inner)
        for handler in getattr(statement, "handlers", None) or []:
            yield from _statements(handler.body, inner)
        for case in getattr(statement, "cases", None) or []:
            yield from _statements(case.body, inner)


def candidates_in(source: str, path: str, families: Iterable[str] = FAMILIES) -> list[Candidate]:
    """The candidates of one module's text (a file that does not parse has none)."""
    families = set(families)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences in old code
            tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    lines = source.splitlines()
    forward_reach = _forward_reach(tree) if "GF3" in families else set()
    parameter_loops: dict[ast.AST | None, set[str]] = {}
    found: list[Candidate] = []

    def add(statement: ast.stmt, family: str, shape: str, text: str | None = None) -> None:
        first = lines[statement.lineno - 1].strip() if statement.lineno <= len(lines) else ""
        found.append(Candidate(path, statement.lineno, _header_end(statement), family, shape,
                               text if text is not None else first))

    for statement, owner in _statements(tree.body, None):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue  # its decorators and defaults are no writes worth a candidate
        compound = isinstance(statement, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try))
        if compound:
            statement_for_net = _header_only(statement)
        else:
            statement_for_net = statement
        if "GF1" in families:
            shapes = sorted(set(_gf1_shapes(statement_for_net)))
            if shapes:
                add(statement, "GF1", "+".join(shapes))
        if "GF2" in families or "GF4" in families:
            if owner not in parameter_loops:
                parameter_loops[owner] = _parameter_loop_names(owner if owner is not None else tree)
            shapes = sorted(set(_gf2_shapes(statement_for_net, parameter_loops[owner])))
            if "GF2" in families and shapes:
                add(statement, "GF2", "+".join(shapes))
            if "GF4" in families and "backward" in shapes:
                context = _gf4_context(owner) if owner is not None else _gf4_context(tree)
                first = lines[statement.lineno - 1].strip()
                add(statement, "GF4", "backward", f"{first}  [order: {context}]")
        if "GF3" in families and owner in forward_reach:
            shapes = sorted(set(_gf3_shapes(statement_for_net, owner)))
            if shapes:
                add(statement, "GF3", "+".join(shapes))
    return found


def _header_end(statement: ast.stmt) -> int:
    """The last line of a simple statement, or of a compound statement's header (its body has candidates of its own)."""
    body = getattr(statement, "body", None)
    if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
        return max(statement.lineno, body[0].lineno - 1)
    return statement.end_lineno or statement.lineno


def _header_only(statement: ast.stmt) -> ast.stmt:
    """A compound statement reduced to its own expressions (test, iterator, context managers): its body's
    statements are candidates of their own."""
    parts: list[ast.AST] = []
    if isinstance(statement, (ast.If, ast.While)):
        parts = [statement.test]
    elif isinstance(statement, (ast.For, ast.AsyncFor)):
        parts = [statement.iter]
    elif isinstance(statement, (ast.With, ast.AsyncWith)):
        parts = [item.context_expr for item in statement.items]
    holder = ast.Expr(value=ast.Tuple(elts=parts, ctx=ast.Load()))
    return ast.copy_location(holder, statement)


# ---------------------------------------------------------------------------------------------------- files

CELL_BOUNDARY = "pass  # cell boundary"
_ESCAPES = ("%", "!", "?")


def notebook_source(text: str) -> tuple[str, dict[int, tuple[int, int]]] | None:
    """A notebook's code cells as one module (a boundary line between cells, IPython escapes masked as `pass`),
    with a map from each module line to (cell number, line in the cell), both 1-based and counting every cell,
    as autofix reports a notebook finding; None when it is not a notebook."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return None
    chunks: list[str] = []
    where: dict[int, tuple[int, int]] = {}
    line = 1
    for number, cell in enumerate(data["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if source.lstrip().startswith("%%") and not source.lstrip().startswith(("%%time", "%%capture")):
            continue  # another language (%%bash, %%writefile): autofix leaves the cell out
        if chunks:
            chunks.append(CELL_BOUNDARY)
            line += 1
        for cell_line, text_line in enumerate(source.split("\n"), start=1):
            stripped = text_line.lstrip()
            masked = text_line[: len(text_line) - len(stripped)] + "pass" if stripped.startswith(_ESCAPES) else text_line
            chunks.append(masked)
            where[line] = (number, cell_line)
            line += 1
    return "\n".join(chunks) + "\n", where


def cell_path(path: str, cell: int | None) -> str:
    """How a notebook cell is named in candidates and in matching findings: `nb.ipynb[cell 3]`."""
    return f"{path}[cell {cell}]" if cell else path


def python_files(tree: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            if name.endswith((".py", ".ipynb")):
                yield Path(folder) / name


def candidates(tree: Path, families: Iterable[str] = FAMILIES) -> list[Candidate]:
    """Every candidate of the tree, in path and line order."""
    families = tuple(families)
    found: list[Candidate] = []
    for file in python_files(tree):
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        path = file.relative_to(tree).as_posix()
        if file.suffix != ".ipynb":
            found.extend(candidates_in(text, path, families))
            continue
        notebook = notebook_source(text)
        if notebook is None:
            continue
        module, where = notebook
        for candidate in candidates_in(module, path, families):
            cell, line = where.get(candidate.line, (0, candidate.line))
            end_cell, end_line = where.get(candidate.end_line, (cell, line))
            found.append(Candidate(cell_path(path, cell), line, end_line if end_cell == cell else line,
                                   candidate.family, candidate.shape, candidate.text))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("--family", action="append", choices=FAMILIES)
    options = parser.parse_args()
    for c in candidates(options.tree, options.family or FAMILIES):
        print(f"{c.path}:{c.line}\t{c.family}\t{c.shape}\t{c.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
