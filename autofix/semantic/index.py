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
from pathlib import Path
from typing import Callable

from autofix.semantic.lattice import UNKNOWN, Grad, Kind, Value
from autofix.semantic.scopes import absolute_module
from autofix.semantic.syntax import dotted
from autofix.semantic.torch_knowledge import is_module_base, is_optimizer_base, torch_instance

SUMMARY_LAYOUT = "summary-v1"
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

    summarized = {}
    for name, cls in classes.items():
        made: dict[str, set] = {}
        for method in cls.body:
            if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) or not method.args.args:
                continue
            me = method.args.args[0].arg
            for node in own(method, _ASSIGNS_AND_CALLS):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                                and target.value.id == me:
                            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                                made.setdefault(target.attr, set()).add(constructed(node.value))
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr in ("register_parameter", "register_buffer") \
                        and isinstance(node.func.value, ast.Name) and node.func.value.id == me and len(node.args) >= 2 \
                        and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str) \
                        and not (isinstance(node.args[1], ast.Constant) and node.args[1].value is None):
                    kind = "torch.nn.Parameter" if node.func.attr == "register_parameter" else "torch.nn.UninitializedBuffer"
                    made.setdefault(node.args[0].value, set()).add(kind)
        summarized[name] = {
            "bases": [qualified(b) for b in cls.bases],
            "attributes": {attr: {"new": q.pop()} for attr, q in made.items() if len(q) == 1 and None not in q},
        }
    returned = {}
    for name, function in functions.items():
        made_by = {constructed(n.value) for n in own(function, _RETURNS) if n.value}
        returned[name] = {"new": made_by.pop()} if len(made_by) == 1 and None not in made_by else None
    return {"module": module, "classes": summarized, "functions": returned, "imports": imports}


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
_ASSIGNS_AND_CALLS = frozenset({ast.Assign, ast.Call})
_RETURNS = frozenset({ast.Return})


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
        for kind in (ast.Assign, ast.Call, ast.Return):
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
                 preloaded: dict[str, dict] | None = None, summary_cache: Path | None = None):
        self.roots = [r.resolve() for r in roots]
        self._summarize_file = summarize_file
        self._summary_cache = summary_cache
        self._by_module: dict[str, dict | None] = dict(preloaded or {})
        self._preloaded = preloaded is not None
        self._in_progress: set[str] = set()
        self.consulted: dict[str, str] = {}  # path -> content digest of every file whose summary was used
        self._texts: dict[str, str] = {}  # resolved path -> text of a document open in an editor, unsaved edits and all

    def use_text(self, path: str, text: str) -> None:
        """An editor's text for the file at `path`, instead of what is on disk; forgets the summaries made so far
        when it changes (they are cheap to make again, and what depends on what is not tracked)."""
        key = str(Path(path).resolve())
        if self._texts.get(key) != text:
            self._texts[key] = text
            self._by_module.clear()

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
        for root in self.roots:
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
        entry = summary[kind].get(rest)
        if entry is not None:
            return f"{summary['module']}.{rest}", entry
        target = summary["imports"].get(rest)
        if target is not None and target != qualified:
            return self._definition(target, kind, depth + 1)
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
        for base in entry["bases"]:
            if base:
                inherited = self.attribute(base, attribute, depth + 1)
                if inherited is not None:
                    return inherited
        return None

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
            return known
        return self.class_value(qualified) or UNKNOWN


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
        found = _INDEXES[key] = ProjectIndex(roots, lambda p: summarize_path(p, summary_cache), summary_cache=summary_cache)
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
