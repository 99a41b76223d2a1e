"""The project index: what the project's other files define, so that `from model import Net` is known in train.py.

Each file of the project is summarised once (`summarize`): its classes with their bases, whether each is an
nn.Module, the values its methods assign to `self` attributes and what its methods return; its functions' return
values; its imports (the re-exports of a package's `__init__`). A summary is plain JSON, keyed by the file's
content hash, so it is cached on disk and a warm run re-summarises only the files that changed.

Summaries are made on demand, the first time a file being checked asks about a name that an import binds to
another file of the project (ty's and Pyright's way: per-file results, memoised, recomputed where the content
changed). A summary may itself ask about other files (a base class defined elsewhere); a cycle gives unknown.
The Ray executor, whose workers cannot read the files, summarises every discovered file in a first phase and
ships the summaries to the check tasks (`ProjectIndex.preloaded`).

Where a module lives: the directory above a file's outermost package (`__init__.py` chain) is an import root,
and so is the file's own directory (a script's `from model import Net`). Only files below those roots are read.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Callable

from autofix.semantic import installed
from autofix.semantic.callers import references
from autofix.semantic.lattice import DATA_OBJECT, NONE, UNKNOWN, Grad, Kind, Value, join
from autofix.semantic.scopes import absolute_module
from autofix.semantic.syntax import dotted
from autofix.semantic.torch_knowledge import is_module_base, is_module_class, is_optimizer_base, layer_slot, torch_instance

SUMMARY_LAYOUT = "summary-v1"
# The reverse call index searches at most this many files of a project, and resolves the references of at most
# this many files that name the function; past either, the function's callers are not known.
MAX_PROJECT_FILES = 5000
MAX_PROJECT_FOLDERS = 5000
MAX_PROJECT_BYTES = 16 << 20
# A module with more star imports than this (transformers.models: one per model) is not searched through them.
MAX_STARS = 32
MAX_CALLER_FILES = 64
_WORD = re.compile(r"\w+")
# A project's words are indexed once this many functions have been asked about: before that, scanning the texts
# for each name costs less than tokenising them all (a check of a few files asks about a few functions).
_SCANS_BEFORE_WORD_INDEX = 32
_NOT_PROJECT = frozenset({"__pycache__", "node_modules", "site-packages", "build", "dist", "venv", "env"})
MAX_SUMMARIZED_SIZE = 1 << 20  # bigger files are not summarised (their classes stay unknown)
_LOCAL = "<local>."


def module_name(path: Path) -> tuple[str, Path, bool]:
    """(dotted module name, import root, is a package `__init__`) of a .py file, by its `__init__.py` chain."""
    path = path.resolve()
    is_package = path.name == "__init__.py"
    parts = [] if is_package else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    if is_package and not parts:
        parts = [path.parent.name]
        folder = path.parent.parent
    return ".".join(parts), folder, is_package


def summarize(tree: ast.Module, module: str, is_package: bool, walked: "Walked | None" = None) -> dict:
    """The summary of one file (see the module docstring). Structural only: one pass over the top level and the
    methods' assignments, names resolved through the module-level imports, no scopes and no value inference,
    so that summarising a file costs little more than parsing it; what a constructor makes is resolved when
    the index is asked.

    `walked`: what the check pass's walk of the same tree found (its nodes by type and their parents), so that the
    file checked is summarised without walking its functions again."""
    own = _own_nodes if walked is None else walked.own_nodes
    imports: dict[str, str] = {}
    classes: dict[str, ast.ClassDef] = {}
    functions: dict[str, ast.AST] = {}
    stars: list[str] = []  # `from pkg.mod import *`: the modules whose public names this one re-exports
    exported: list[str] | None = None  # a literal `__all__`
    for statement in _top_level(tree.body):
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                bound = alias.asname or alias.name.split(".")[0]
                imports[bound] = alias.name if alias.asname else bound
        elif isinstance(statement, ast.ImportFrom):
            origin = absolute_module(statement, module, is_package)
            for alias in statement.names:
                if origin and alias.name != "*":
                    imports[alias.asname or alias.name] = f"{origin}.{alias.name}"
                elif origin:
                    stars.append(origin)
        elif isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__"
                                                       for t in statement.targets):
            names = statement.value.elts if isinstance(statement.value, (ast.List, ast.Tuple)) else None
            exported = [e.value for e in names if isinstance(e, ast.Constant) and isinstance(e.value, str)] \
                if names is not None and all(isinstance(e, ast.Constant) for e in names) else None
        elif isinstance(statement, ast.ClassDef):
            classes[statement.name] = statement
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions[statement.name] = statement

    def qualified(expr: ast.AST) -> str | None:
        name = dotted(expr)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in imports:
            return imports[head] + ("." + rest if rest else "")
        if head in classes and not rest:
            return f"{module}.{head}"
        return None

    def constructed(value: ast.AST | None) -> str | None:
        return qualified(value.func) if isinstance(value, ast.Call) else None

    def held_in_order(value: ast.AST) -> list | None:
        """What `nn.Sequential(a, b)` / `nn.ModuleList([a, b])` holds, place by place (None: not known)."""
        if not (isinstance(value, ast.Call) and getattr(value.func, "attr", getattr(value.func, "id", None))
                in ("Sequential", "ModuleList")):
            return None
        kind = constructed(value)
        if kind not in _ORDERED_CONTAINERS or value.keywords:
            return None
        held = value.args
        if kind.endswith("ModuleList") and held:
            if len(held) != 1 or not isinstance(held[0], (ast.List, ast.Tuple)):
                return None
            held = held[0].elts
        if any(isinstance(h, ast.Starred) for h in held):
            return None
        return [{"new": constructed(h)} if constructed(h) else None for h in held]

    summarized = {}
    for name, cls in classes.items():
        made: dict[str, set] = {}
        members: dict[str, list] = {}  # attribute -> what each assignment's Sequential/ModuleList holds, in order
        appended: dict[str, list] = {}  # attribute -> what `self.<attribute>.append(...)` adds
        sets = _names_in_body(cls)
        for method in cls.body:
            if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            me = method.args.args[0].arg if method.args.args else None
            for node in own(method, _CLASS_BODY_KINDS):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if not isinstance(target, ast.Attribute):
                            continue
                        sets.add(target.attr)
                        if isinstance(target.value, ast.Name) and target.value.id == me \
                                and not (isinstance(node.value, ast.Constant) and node.value.value is None):
                            made.setdefault(target.attr, set()).add(constructed(node.value))
                            members.setdefault(target.attr, []).append(held_in_order(node.value))
                elif isinstance(node, ast.Call):
                    func = node.func
                    called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) \
                        else None
                    if called in _SETTERS:
                        _note_set(node, sets)
                    if me is None or not isinstance(func, ast.Attribute):
                        continue
                    if called in ("register_parameter", "register_buffer") and isinstance(func.value, ast.Name) \
                            and func.value.id == me:
                        named, held = _registration(node)
                        if isinstance(named, ast.Constant) and isinstance(named.value, str) and held is not None \
                                and not (isinstance(held, ast.Constant) and held.value is None):
                            kind = "torch.nn.Parameter" if called == "register_parameter" \
                                else "torch.nn.UninitializedBuffer"
                            made.setdefault(named.value, set()).add(kind)
                    elif called in ("append", "extend", "insert") and isinstance(func.value, ast.Attribute) \
                            and isinstance(func.value.value, ast.Name) and func.value.value.id == me:
                        # `self.lins.append(Linear(...))`: what a ModuleList built empty comes to hold.
                        attr = func.value.attr
                        added = node.args[-1] if node.args and called != "extend" else None
                        if called == "extend" and len(node.args) == 1 and isinstance(node.args[0], (ast.List, ast.Tuple)):
                            appended.setdefault(attr, []).extend(constructed(e) for e in node.args[0].elts)
                        else:
                            appended.setdefault(attr, []).append(constructed(added) if added is not None else None)
                        if called == "insert":
                            members.setdefault(attr, []).append(None)  # the places of the members move
                elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.Delete)):
                    _note_set(node, sets)
        summarized[name] = {
            "bases": [qualified(b) for b in cls.bases],
            "attributes": {attr: _with_items(q.pop(), members.get(attr), appended.get(attr)) for attr, q in made.items()
                           if len(q) == 1 and None not in q},
            # Attributes assigned instances of several classes (`Parameter(...)` or `UninitializedParameter()`).
            "choices": {attr: sorted(q) for attr, q in made.items() if len(q) > 1 and None not in q},
            "sets": sorted(sets | set(made)),
        }
    returned = {}
    for name, function in functions.items():
        nodes, returns, generator = own(function, _FUNCTION_BODY_KINDS), [], False
        for node in nodes:
            if isinstance(node, ast.Return):
                if node.value is not None:
                    returns.append(node.value)
            elif isinstance(node, (ast.Yield, ast.YieldFrom)):
                generator = True
        if generator:
            returned[name] = None  # a generator
            continue
        bound = _bound_in(function, nodes, constructed) if any(isinstance(r, ast.Name) for r in returns) else {}
        made_by = set()
        for value in returns:
            if isinstance(value, ast.Name) and value.id in bound:
                made_by |= bound[value.id]  # `model = ResNet(...)` then `return model`
            else:
                made_by.add(constructed(value))
        if len(made_by) == 1 and None not in made_by:
            returned[name] = {"new": made_by.pop()}
        else:
            # What the function declares it returns (`-> ResNet`), where its returns do not say.
            declared = qualified(function.returns) if function.returns is not None else None
            returned[name] = {"new": declared} if declared else None
    summary = {"module": module, "classes": summarized, "functions": returned, "imports": imports}
    if stars:
        summary["stars"] = stars
    if exported is not None:
        summary["all"] = exported
    return summary


_ORDERED_CONTAINERS = frozenset({"torch.nn.Sequential", "torch.nn.ModuleList", "torch.nn.modules.container.Sequential",
                                 "torch.nn.modules.container.ModuleList"})


def _with_items(qualified: str, assigned: list | None, appended: list | None = None) -> dict:
    """An attribute's summarised value: an instance of `qualified`, and, for a Sequential or ModuleList assigned
    once, what it holds in order (later appends do not move the members a non-negative index names) and what
    its methods append to it (`added`)."""
    value = {"new": qualified}
    if qualified not in _ORDERED_CONTAINERS:
        return value
    if assigned is not None and len(assigned) == 1 and assigned[0] is not None:
        value["items"] = assigned[0]
    if appended:
        value["added"] = appended
    return value


def _registration(call: ast.Call) -> tuple[ast.AST | None, ast.AST | None]:
    """The name and value of `register_parameter(name, param)` / `register_buffer(name, tensor)`, by position
    or keyword."""
    held_keyword = "param" if call.func.attr == "register_parameter" else "tensor"
    name = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "name"), None)
    held = call.args[1] if len(call.args) >= 2 else next((k.value for k in call.keywords if k.arg == held_keyword), None)
    return name, held


def _names_in_body(cls: ast.ClassDef) -> set[str]:
    """The names a class's body binds (methods, properties, class attributes): they hide a base's slot of that
    name. `_note_set` adds what its methods set."""
    found: set[str] = set()
    for statement in cls.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(statement.name)
        for target in statement.targets if isinstance(statement, ast.Assign) else \
                [statement.target] if isinstance(statement, ast.AnnAssign) else []:
            if isinstance(target, ast.Name):
                found.add(target.id)
    return found


_SETTERS = frozenset({"register_parameter", "register_buffer", "register_module", "add_module", "setattr", "delattr"})


def _note_set(node: ast.AST, found: set[str]) -> None:
    """An attribute name that `node`, in a method, assigns, deletes, registers or `setattr`s on anything ("*":
    a name that is not a constant), so that a base's slot of that name is not claimed."""
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Delete)):
        for target in node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]:
            if isinstance(target, ast.Attribute):
                found.add(target.attr)
    elif isinstance(node, ast.Call):
        func = node.func
        method = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if method in ("register_parameter", "register_buffer", "register_module", "add_module"):
            named = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "name"), None)
        elif method in ("setattr", "delattr"):
            named = node.args[1] if len(node.args) >= 2 else None
        else:
            return
        found.add(named.value if isinstance(named, ast.Constant) and isinstance(named.value, str) else "*")


def _bound_in(function: ast.AST, nodes: list[ast.AST], constructed) -> dict[str, set]:
    """Name -> what each of its bindings in the function constructs (None: a parameter, a loop variable, or
    anything that is not a constructor call)."""
    bound: dict[str, set] = {}
    arguments = function.args
    for arg in arguments.posonlyargs + arguments.args + arguments.kwonlyargs + [arguments.vararg, arguments.kwarg]:
        if arg is not None:
            bound[arg.arg] = {None}
    for node in nodes:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.With,
                             ast.AsyncWith, ast.NamedExpr)):
            targets = node.targets if isinstance(node, ast.Assign) else \
                [i.optional_vars for i in node.items] if isinstance(node, (ast.With, ast.AsyncWith)) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    bound.setdefault(target.id, set()).add(constructed(node.value) if isinstance(node, ast.Assign) else None)
                elif target is not None:
                    for inner in ast.walk(target):
                        if isinstance(inner, ast.Name):
                            bound.setdefault(inner.id, set()).add(None)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.setdefault(node.name, set()).add(None)
        elif isinstance(node, (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal)):
            for alias in node.names:
                bound.setdefault(alias if isinstance(alias, str) else (alias.asname or alias.name.split(".")[0]),
                                 set()).add(None)
    return bound


def _top_level(body: list[ast.stmt]):
    """The module's statements, and those inside top-level `if`/`try` blocks (guarded imports)."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.If, ast.Try)):
            for block in (statement.body, statement.orelse, getattr(statement, "finalbody", []),
                          *(h.body for h in getattr(statement, "handlers", []))):
                yield from _top_level(block)


_NESTED = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef})
_CONTEXTS = frozenset({ast.Load, ast.Store, ast.Del})
# What a summary reads of a method's body (assignments to self, registrations, appends, and whatever sets a name
# that would hide a base's slot), and of a function's body (returns, yields, and the bindings a returned name
# may come from).
_CLASS_BODY_KINDS = frozenset({ast.Assign, ast.Call, ast.AnnAssign, ast.AugAssign, ast.Delete})
_FUNCTION_BODY_KINDS = frozenset({ast.Return, ast.Yield, ast.YieldFrom, ast.Assign, ast.AnnAssign, ast.AugAssign,
                                  ast.For, ast.AsyncFor, ast.With, ast.AsyncWith, ast.NamedExpr, ast.ExceptHandler,
                                  ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal})


def _own_nodes(function: ast.AST, kinds: frozenset[type]) -> list[ast.AST]:
    """The nodes of those `kinds` in a function's body, not in the functions and classes nested in it (a definition
    standing in the body itself is walked into, as it always was), in the order ast.iter_child_nodes would give.
    A tight loop over `_fields`: the generic walk was most of what summarising a file cost."""
    found: list[ast.AST] = []
    stack = list(function.body)
    pop, push, AST, skip = stack.pop, stack.append, ast.AST, _NESTED | _CONTEXTS
    while stack:
        node = pop()
        if node.__class__ in kinds:
            found.append(node)
        for name in node._fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for child in value:
                    if isinstance(child, AST) and child.__class__ not in skip:
                        push(child)
            elif isinstance(value, AST) and value.__class__ not in skip:
                push(value)
    return found


class Walked:
    """The nodes of each function's body as `_own_nodes` gives them, from a walk already made (the semantic
    model's nodes by type and parents): the node's innermost enclosing definition owns it when the node is in that
    definition's body, and so does the function around a definition standing directly in its body (the walk
    `_own_nodes` makes enters such a definition)."""

    def __init__(self, nodes_of_type: Callable[[type], list[ast.AST]], parent: Callable[[ast.AST], ast.AST | None]):
        self._owned: dict[int, list[ast.AST]] = {}
        functions = (ast.FunctionDef, ast.AsyncFunctionDef)
        for kind in sorted(_CLASS_BODY_KINDS | _FUNCTION_BODY_KINDS, key=lambda k: k.__name__):
            for node in nodes_of_type(kind):
                child, scope = node, parent(node)
                while scope is not None and scope.__class__ not in _NESTED:
                    child, scope = scope, parent(scope)
                if scope is None or scope.__class__ is ast.Lambda:
                    continue
                if scope.__class__ in functions and isinstance(child, ast.stmt):  # in its body
                    self._owned.setdefault(id(scope), []).append(node)
                outer = parent(scope)
                if outer is not None and outer.__class__ in functions:  # a definition standing in a function's body
                    self._owned.setdefault(id(outer), []).append(node)

    def own_nodes(self, function: ast.AST, kinds: frozenset[type]) -> list[ast.AST]:
        return [n for n in self._owned.get(id(function), ()) if n.__class__ in kinds]


class ProjectIndex:
    """Summaries of a project's files, made on demand and memoised; answers questions by qualified name."""

    def __init__(self, roots: list[Path], summarize_file: Callable[[Path], dict | None],
                 preloaded: dict[str, dict] | None = None, summary_cache: Path | None = None,
                 libraries: tuple[Path, ...] = ()):
        self.roots = [r.resolve() for r in roots]
        self.libraries = libraries  # the environment's package directories, searched after the project's roots
        self._summarize_file = summarize_file
        self._summary_cache = summary_cache
        self._by_module: dict[str, dict | None] = dict(preloaded or {})
        self._preloaded = preloaded is not None
        self._in_progress: set[str] = set()
        self.consulted: dict[str, str] = {}  # path -> content digest of every file whose summary was used
        self._texts: dict[str, str] = {}  # resolved path -> text of a document open in an editor, unsaved edits and all
        self._callers: dict[str, list | None] = {}  # the reverse call index, per function asked about
        self._sources: _Sources | None = None  # the project's files, for the reverse call index
        self._refs: dict[str, dict | None] = {}  # references of the files an editor holds

    def use_text(self, path: str, text: str) -> None:
        """An editor's text for the file at `path`, instead of what is on disk; forgets the summaries made so far
        when it changes (they are cheap to make again, and what depends on what is not tracked)."""
        key = str(Path(path).resolve())
        if self._texts.get(key) != text:
            self._texts[key] = text
            self._by_module.clear()
            self._callers.clear()
            self._refs.pop(key, None)
            if self._sources is not None:
                self._sources.forget(key)  # a file the editor just made is a project file too

    def learn(self, where: tuple[str, Path, bool], text: str, tree: ast.Module, walked: "Walked | None",
              digest: str) -> None:
        """Summarise a file from the tree the check pass parsed (and the nodes its walk found): a file that another
        one imports later is then never read and compiled again. `where` is `module_name` of the file, whose bytes
        have `digest`."""
        module, root, is_package = where
        if self._preloaded or not module or module in self._by_module or not self.roots or root != self.roots[0] \
                or len(text) > MAX_SUMMARIZED_SIZE // 4:  # the size test is summarize_path's, in bytes
            return
        # The file that answers for that module name: this one, unless this is a package's `__init__.py` and a
        # module file of the same name stands beside the package (the first candidate is then that file).
        path = next(self._candidates(module), None)
        if path is None or (path.name == "__init__.py") != is_package or str(path) in self._texts:
            return
        summary = summarize(tree, module, is_package, walked)
        summary["path"], summary["digest"] = str(path), digest
        _store(self._summary_cache, module, digest, summary)
        self._by_module[module] = summary

    @classmethod
    def preloaded(cls, summaries: dict[str, dict]) -> "ProjectIndex":
        """An index of summaries made elsewhere (the Ray executor's first phase): it reads no file."""
        return cls([], lambda path: None, preloaded={s["module"]: s for s in summaries.values()})

    # --- finding a module's summary -----------------------------------------------------------------------
    def summary(self, module: str) -> dict | None:
        found = self._summary(module)
        if found is not None and "path" in found:
            self.consulted[found["path"]] = found["digest"]
        return found

    def _summary(self, module: str) -> dict | None:
        if module in self._by_module:
            return self._by_module[module]
        if self._preloaded or module in self._in_progress:
            return None
        self._in_progress.add(module)
        try:
            found = None
            for path in self._candidates(module):
                text = self._texts.get(str(path))
                if text is not None:
                    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
                    name, _, is_package = module_name(path)
                    found = summarize_text(str(path), text, name, is_package, digest)
                else:
                    found = self._summarize_file(path)
                if found is not None:
                    found = {**found, "module": module}
                    break
        finally:
            self._in_progress.discard(module)
        self._by_module[module] = found
        return found

    def _candidates(self, module: str):
        relative = Path(*module.split("."))
        roots = self.roots + list(self.libraries) if self.libraries and installed.is_read(module) else self.roots
        for root in roots:
            for candidate in (root / relative.with_suffix(".py"), root / relative / "__init__.py"):
                if candidate.is_file():
                    yield candidate

    def _split(self, qualified: str) -> tuple[dict, str] | None:
        """The summary of the longest module prefix of `qualified`, and the rest of the name."""
        parts = qualified.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            found = self.summary(".".join(parts[:cut]))
            if found is not None:
                return found, ".".join(parts[cut:])
        return None

    def _definition(self, qualified: str, kind: str, depth: int = 0) -> tuple[str, dict] | None:
        """(qualified name, summary entry) of the class or function `qualified` names, through re-exports."""
        if depth > 8 or qualified.startswith(("torch.", "numpy.", "typing.", "collections.")):
            return None
        split = self._split(qualified)
        if split is None:
            return None
        summary, rest = split
        if "." in rest:
            return None
        if rest in summary[kind]:  # a function's entry is None when what it returns is not known
            return f"{summary['module']}.{rest}", summary[kind][rest]
        target = summary["imports"].get(rest)
        if target is not None and target != qualified:
            return self._definition(target, kind, depth + 1)
        stars = summary.get("stars", ())
        for star in stars if len(stars) <= MAX_STARS else ():  # hundreds (a hub's lazy __init__): not searched
            # `from .resnet import *` in torchvision.models: the name is resnet's, if resnet exports it.
            star_summary = self.summary(star)
            if star_summary is None or rest.startswith("_") or rest not in star_summary.get("all", (rest,)):
                continue
            found = self._definition(f"{star}.{rest}", kind, depth + 1)
            if found is not None:
                return found
        return None

    def source(self, qualified: str, kind: str) -> tuple[str, str, str, str] | None:
        """(qualified name where defined, path, module, text) of the file that defines the project's class or
        function `qualified` (`kind`: "classes" or "functions"), for an analysis that follows a call into it.
        None in a preloaded index (it reads no file), for a file outside the project's roots (an installed
        library), or when the file changed or cannot be read since it was summarised: then the caller knows no
        more than the summary says."""
        if self._preloaded:
            return None
        found = self._definition(qualified, kind)
        if found is None:
            return None
        name = found[0]
        summary = self._by_module.get(name.rsplit(".", 1)[0])
        if summary is None or "path" not in summary:
            return None
        path = summary["path"]
        resolved = Path(path).resolve()
        if not any(resolved.is_relative_to(root) for root in self.roots) or {"site-packages", "dist-packages"} & set(
            resolved.parts
        ):
            return None  # the project's own code only: an installed library's is summarised, never followed
        text = self._texts.get(path)
        if text is None:
            try:
                data = Path(path).read_bytes()
            except OSError:
                return None
            if hashlib.sha256(data).hexdigest() != summary["digest"]:
                return None
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                return None
        return name, path, summary["module"], text

    # --- questions --------------------------------------------------------------------------------------
    def canonical_class(self, qualified: str) -> tuple[str, dict] | None:
        return self._definition(qualified, "classes")

    def class_value(self, qualified: str) -> Value | None:
        """An instance of the project's class `qualified`: a module, an optimizer, or another object."""
        found = self.canonical_class(qualified)
        if found is None:
            return None
        name, entry = found
        if self._inherits(entry, is_module_base):
            return Value(Kind.MODULE, Grad.DATA, cls=name)
        if self._inherits(entry, is_optimizer_base):
            return Value(Kind.OPTIMIZER, Grad.DATA, cls=name)
        return Value(Kind.OBJECT, Grad.DATA, cls=name)

    def is_module_class(self, qualified: str) -> bool:
        found = self.class_value(qualified)
        return found is not None and found.kind is Kind.MODULE

    def _inherits(self, entry: dict, is_base: Callable[[str], bool], depth: int = 0) -> bool:
        """Some base of the class, here or in another file of the project, is one `is_base` accepts."""
        for base in entry["bases"]:
            if not base:
                continue
            if is_base(base):
                return True
            found = self.canonical_class(base) if depth < 8 else None
            if found is not None and self._inherits(found[1], is_base, depth + 1):
                return True
        return False

    def attribute(self, qualified_class: str, attribute: str, depth: int = 0) -> Value | None:
        """What instances of the project's class get in `self.<attribute>`, from it or its bases."""
        found = self.canonical_class(qualified_class)
        if found is None or depth > 8:
            return None
        entry = found[1]
        if attribute in entry["attributes"]:
            return self.value(entry["attributes"][attribute])
        if attribute in entry.get("choices", {}):
            return join([self.value({"new": q}) for q in entry["choices"][attribute]])
        for base in entry["bases"]:
            if base:
                inherited = self.attribute(base, attribute, depth + 1)
                if inherited is not None:
                    return inherited
        return None

    def torch_slot(self, qualified_class: str, attribute: str, depth: int = 0) -> Value | None:
        """`attribute` of an instance of the project's class `qualified_class` that a torch.nn layer it derives
        from holds (torch table: `weight` of a subclass of nn.Linear), where no class in between sets it."""
        found = self.canonical_class(qualified_class)
        if found is None or depth > 8:
            return None
        sets = found[1].get("sets")
        if sets is None or attribute in sets or "*" in sets:
            return None
        for base in found[1]["bases"]:
            if base and is_module_class(base):
                return layer_slot(base, attribute)
            inherited = self.torch_slot(base, attribute, depth + 1) if base else None
            if inherited is not None:
                return inherited
            if base not in ("torch.nn.Module", "torch.nn.modules.module.Module"):
                return None  # that base may set it in a way the index cannot see
        return None

    # --- the reverse call index ------------------------------------------------------------------------
    def callers(self, qualified: str, own_path: str) -> list[tuple[tuple[Value, ...], dict[str, Value]]] | None:
        """What the project's other files pass to the function `qualified` at each of their calls: (positional
        values, keyword values) per site, a callback's values (`model.apply(init)`: each submodule) as
        positional ones; [] when no other file calls it; None when one may call it with anything (passes it on,
        reaches it through a star import, looks it up by a string, or the project is too big to search)."""
        if qualified in self._callers:
            return self._callers[qualified]
        self._callers[qualified] = None  # asked again while resolving: unknown
        self._callers[qualified] = found = self._find_callers(qualified, os.path.realpath(own_path))
        return found

    def _find_callers(self, qualified: str, own_path: str):
        from autofix.semantic.callsites import CALLBACKS

        name = qualified.rpartition(".")[2]
        files = self._project_files()
        if files is None:
            return None
        word = re.compile(rf"(?<![\w.]){re.escape(name)}\b|\.{re.escape(name)}\b")
        # The files that hold `name` as a word come from an index of the project's words, built once: searching
        # every file's text for every function asked about cost functions x project size (one big module of a
        # thousand functions searched itself a thousand times). The file asking is left out before any search.
        named = self._sources.naming(name)  # None while a scan of the texts is still the cheaper way
        candidates = [p for p in files
                      if (str(p) in named if named is not None and str(p) not in self._texts else name in self._text(p))
                      and os.path.realpath(p) != own_path and word.search(self._text(p))]
        if len(candidates) > MAX_CALLER_FILES:
            return None
        found = []
        for path in candidates:
            refs = self._references(path)
            if refs is None:
                continue  # a file that does not parse calls nothing
            self.consulted[str(path)] = refs["digest"]
            if name in refs["strings"] or refs["stars"] and name in refs["free"]:
                return None
            for target, sites in refs["sites"].items():
                if target.rpartition(".")[2] != name:
                    continue
                if target != qualified:  # imported through a re-export: resolve it
                    definition = self._definition(target, "functions")
                    if definition is None or definition[0] != qualified:
                        continue
                for site in sites:
                    if site["how"] == "call":
                        found.append((tuple(self.resolve(a) for a in site["args"]),
                                      {k: self.resolve(v) for k, v in site["keywords"].items()}))
                    elif site["how"] == "callback":
                        receiver = self.resolve(site["receiver"])
                        given = CALLBACKS.get((receiver.kind, site["method"]))
                        if given is None:
                            return None
                        found.append((given, {}))
                    else:
                        return None
        return found

    def resolve(self, spec: dict | None) -> Value:
        """A value that `callers.references` wrote as a spec: an instance, or an attribute chain of one."""
        if not isinstance(spec, dict):
            return UNKNOWN
        if "new" in spec:
            return self.value(spec)
        if "constant" in spec:
            return NONE if spec["constant"] else DATA_OBJECT
        if "iter" in spec:
            iterated = self.resolve(spec["iter"])
            return iterated.element if iterated.element is not None else UNKNOWN
        if "self" in spec:
            value = self.class_value(spec["self"]) or UNKNOWN
        else:
            value = self.resolve(spec.get("of"))
        for attribute in spec.get("path", ()):
            value = self.member(value, attribute)
        return value

    def member(self, value: Value, attribute: str) -> Value:
        """`attribute` of an instance of a torch layer or of a class the index can read."""
        if value.kind not in (Kind.MODULE, Kind.OBJECT) or not value.cls:
            return UNKNOWN
        if is_module_class(value.cls):
            return layer_slot(value.cls, attribute) or UNKNOWN
        return self.attribute(value.cls, attribute) or self.torch_slot(value.cls, attribute) or UNKNOWN

    def _project_files(self) -> list[Path] | None:
        """The project's .py files, under its first import root (shared by every index of that root in this
        process); None when there are more than the reverse index searches."""
        if not self.roots:
            return None
        if self._sources is None:
            self._sources = _SOURCES.get(self.roots[0])
            if self._sources is None:
                self._sources = _SOURCES[self.roots[0]] = _Sources(self.roots[0])
        return self._sources.files()

    def _text(self, path: Path) -> str:
        text = self._texts.get(str(path))
        return text if text is not None else self._sources.text(path)

    def _references(self, path: Path) -> dict | None:
        key = str(path)
        if key in self._texts:  # an editor's unsaved text: not shared
            if key not in self._refs:
                self._refs[key] = _references_of(path, self._texts[key])
            return self._refs[key]
        return self._sources.references(path)

    def function_returns(self, qualified: str) -> Value | None:
        found = self._definition(qualified, "functions")
        if found is None:
            return None
        return self.value(found[1])

    def value(self, data: object) -> Value:
        """A summarised value: `{"new": "pkg.mod.Class"}`, an instance of that class, resolved here (torch's
        classes by what torch knows, the project's through the index), so that a summary depends on its own
        file's content only."""
        if not (isinstance(data, dict) and "new" in data):
            return UNKNOWN
        qualified = data["new"]
        known = torch_instance(qualified)
        if known is not None:
            if known.kind is Kind.MODULE and ("items" in data or "added" in data):
                # `self.classifier = nn.Sequential(...)` in another file: `classifier[6]` is its seventh member;
                # iterating it gives any member, those its methods append included.
                items = tuple(self.value(i) for i in data["items"]) if "items" in data else None
                added = [self.value({"new": q} if q else None) for q in data.get("added", ())]
                everyone = [*items, *added] if items is not None else []
                element = join(everyone) if everyone and all(v.kind is not Kind.UNKNOWN for v in everyone) else None
                return Value(Kind.MODULE, Grad.DATA, cls=qualified, items=items, element=element)
            return known
        return self.class_value(qualified) or UNKNOWN


class _Sources:
    """The .py files under one import root, their texts and what they pass to imported functions (`callers`),
    read on the first question of the reverse call index and shared by every index of that root in the process.
    Virtual environments, hidden and build folders are left out; a project bigger than the limits is not
    searched (its functions' callers in other files stay unknown)."""

    def __init__(self, root: Path):
        self.root = root
        self._files: list[Path] | None = None
        self._listed = False
        self._texts: dict[str, str] = {}
        self._refs: dict[str, dict | None] = {}
        self._words: dict[str, set[str]] | None = None  # word -> the files that hold it (`naming`)
        self._asked = 0

    def files(self) -> list[Path] | None:
        if not self._listed:
            self._listed = True
            self._files = self._list()
        return self._files

    def _list(self) -> list[Path] | None:
        files: list[Path] = []
        stack, visited, size = [self.root], 0, 0
        while stack:
            folder = stack.pop()
            visited += 1
            if visited > MAX_PROJECT_FOLDERS:
                return None
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            if any(e.name == "pyvenv.cfg" for e in entries):
                continue  # a virtual environment
            for entry in entries:
                if entry.name.startswith(".") or entry.name in _NOT_PROJECT:
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif entry.name.endswith(".py") and entry.is_file():
                        files.append(Path(entry.path))
                        size += entry.stat().st_size
                except OSError:
                    continue
            if len(files) > MAX_PROJECT_FILES or size > MAX_PROJECT_BYTES:
                return None
        return sorted(files)

    def text(self, path: Path) -> str:
        key = str(path)
        if key not in self._texts:
            try:
                data = path.read_bytes()
                self._texts[key] = data.decode("utf-8-sig") if len(data) <= MAX_SUMMARIZED_SIZE else ""
            except (OSError, UnicodeDecodeError):
                self._texts[key] = ""
        return self._texts[key]

    def naming(self, name: str) -> frozenset[str] | set[str] | None:
        """The files whose text holds `name` as a word (a superset of those that refer to it); None for the first
        questions, which a substring scan of the texts answers more cheaply than building the index would."""
        self._asked += 1
        if self._words is None and self._asked <= _SCANS_BEFORE_WORD_INDEX:
            return None
        if self._words is None:
            words: dict[str, set[str]] = {}
            for path in self.files() or ():
                key = str(path)
                for found in set(_WORD.findall(self.text(path))):
                    words.setdefault(found, set()).add(key)
            self._words = words
        return self._words.get(name, frozenset())

    def references(self, path: Path) -> dict | None:
        key = str(path)
        if key not in self._refs:
            self._refs[key] = _references_of(path, self.text(path))
        return self._refs[key]

    def forget(self, key: str) -> None:
        self._listed = False
        self._words = None
        self._texts.pop(key, None)
        self._refs.pop(key, None)


def _references_of(path: Path, text: str) -> dict | None:
    """`callers.references` of one file's text, with the digest a cached result records; None when it does not
    parse."""
    name, _, is_package = module_name(path)
    try:
        refs = references(ast.parse(text), name, is_package)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    try:
        refs["digest"] = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        refs["digest"] = ""
    return refs


_SOURCES: dict[Path, _Sources] = {}

# --- per process: one index per set of import roots, and summaries cached by content ----------------------
_INDEXES: dict[tuple[Path, ...], ProjectIndex] = {}


def roots_of(path: str) -> list[Path]:
    """Where imports from the file at `path` may be found: its import root and its own folder."""
    if path in ("", "-", "<stdin>"):
        return []
    file = Path(path)
    try:
        _, root, _ = module_name(file)
        roots = [root, file.resolve().parent]
    except OSError:
        return []
    return list(dict.fromkeys(roots))


def index_for(path: str, summary_cache: Path | None = None) -> ProjectIndex | None:
    """The index that the file at `path` sees (shared by every file with the same import roots, in this process)."""
    roots = roots_of(path)
    if not roots:
        return None
    key = tuple(roots)
    found = _INDEXES.get(key)
    if found is None:
        found = _INDEXES[key] = ProjectIndex(roots, lambda p: summarize_path(p, summary_cache),
                                             summary_cache=summary_cache, libraries=installed.library_roots())
    return found


def summarize_path(path: Path, summary_cache: Path | None = None) -> dict | None:
    """The summary of the file at `path` (from the cache when its content is unchanged), or None."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) > MAX_SUMMARIZED_SIZE:
        return None
    module, _, is_package = module_name(path)
    digest = hashlib.sha256(data).hexdigest()
    cached = _cache_file(summary_cache, _cache_key(module, digest))
    if cached is not None:
        try:
            return json.loads(cached.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    summary = summarize_text(str(path), text, module, is_package, digest, keep=True)
    if summary is None:
        return None
    if cached is None:
        _store(summary_cache, module, digest, summary)
    return summary


# Trees parsed to summarise a file on demand, kept (within a budget of source characters) so that when this process
# checks that file later it does not compile it a second time.
_PARSED: dict[str, tuple[str, ast.Module]] = {}
_PARSED_BUDGET = 2 << 20
_parsed_size = 0


def _keep_parsed(path: str, text: str, tree: ast.Module) -> None:
    global _parsed_size
    while _PARSED and _parsed_size + len(text) > _PARSED_BUDGET:
        _parsed_size -= len(_PARSED.pop(next(iter(_PARSED)))[0])  # the oldest first
    if len(text) <= _PARSED_BUDGET:
        _PARSED[path] = (text, tree)
        _parsed_size += len(text)


def take_parsed(path: str, text: str) -> ast.Module | None:
    """The tree of `text` if this process parsed it to summarise the file at `path` (and forgets it)."""
    global _parsed_size
    if not _PARSED:
        return None
    try:
        kept = _PARSED.pop(str(Path(path).resolve()), None)
    except OSError:
        return None
    if kept is None:
        return None
    _parsed_size -= len(kept[0])
    return kept[1] if kept[0] == text else None


def _cache_key(module: str, digest: str) -> str:
    from autofix.cache import tool_fingerprint

    return hashlib.sha256(f"{tool_fingerprint()}\0{module}\0{digest}".encode()).hexdigest()


def _store(summary_cache: Path | None, module: str, digest: str, summary: dict) -> None:
    """Keep `summary` in the on-disk cache (if there is one and it does not hold it yet)."""
    if summary_cache is None:
        return
    key = _cache_key(module, digest)
    target = summary_cache / SUMMARY_LAYOUT / key[:2] / f"{key}.json"
    if target.is_file():
        return
    from autofix import source

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        source.replace_file(str(target), json.dumps(summary, separators=(",", ":")).encode(), durable=False)
    except OSError:
        pass  # a cache that cannot be written is only slower


def summarize_text(path: str, text: str, module: str, is_package: bool, digest: str, keep: bool = False) -> dict | None:
    """The summary of one file's text, or None when it does not parse. With `keep`, the tree is kept for the
    check of that file in this process (`take_parsed`)."""
    try:
        tree = ast.parse(text)
        summary = summarize(tree, module, is_package)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if keep:
        _keep_parsed(path, text, tree)
    summary["path"], summary["digest"] = path, digest  # the digest of the file's bytes, as the cache compares
    return summary


def summarize_batch(batch: list[tuple[str, str, str, bool, str]]) -> list[dict | None]:
    """(path, text, module, is_package, digest) tuples to summaries: the first phase of an executor whose workers cannot
    read the files."""
    return [summarize_text(*item) if len(item[1]) <= MAX_SUMMARIZED_SIZE else None for item in batch]


def _cache_file(summary_cache: Path | None, digest: str) -> Path | None:
    if summary_cache is None:
        return None
    candidate = summary_cache / SUMMARY_LAYOUT / digest[:2] / f"{digest}.json"
    return candidate if candidate.is_file() else None
