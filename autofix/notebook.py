"""Jupyter notebooks (.ipynb): their code cells checked and fixed as one Python module.

The kernel runs code cells in order in one namespace, so an import in cell 1 counts in cell 5: the cells
are concatenated into one module and the engine sees nothing but Python. IPython syntax (`%magic`,
`!shell`, `obj?`, `x = !cmd`) is masked line for line with a `pass` placeholder and put back byte for byte
after a fix; a cell whose cell magic makes it another language (`%%bash`, `%%writefile`) is left out.
Cells are joined by a boundary statement, so no fix can merge two cells: a fix that moves code across a
boundary, or loses a placeholder, is refused rather than written.

A fix rewrites only the `source` value of the cells it changed, spliced into the original JSON text:
indentation, key order, escaping, outputs, ids and metadata stay exactly as they were on disk.
"""
from __future__ import annotations

import ast
import difflib
import itertools
import json
import json.decoder
import json.scanner
import re
from collections import Counter
from dataclasses import dataclass, field

from autofix.diff import split_lines

SUFFIX = ".ipynb"
# A statement of its own between cells: no rule touches it, and a fix cannot wrap code on both sides of it
# into one block without indenting it, which the split notices.
CELL_BOUNDARY = "pass  # autofix-cell-boundary"
_PLACEHOLDER = re.compile(r"([ \t]*)pass  # autofix-magic-(\d+)")

# Cell magics whose body is Python run in the kernel's namespace; any other cell magic makes the cell
# another language (or a file's content) and the cell is left out.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
_ESCAPES = ("%", "!", "?", "/", ",", ";")  # IPython's line escapes; no Python statement starts with one
_HELP = re.compile(r"[\w.*\[\]]+\?{1,2}")  # `obj?`, `obj.attr??`, `np.*load*?`
_MAGIC_ASSIGNMENT = re.compile(r"[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*[%!]")  # `out = !ls`
_FUTURE = re.compile(r"from\s+__future__\s+import\b")
_SPACE = re.compile(r"[ \t\n\r]*")


class NotebookError(Exception):
    """A notebook that cannot be checked or rewritten; the message is one line naming the reason."""


def is_notebook(path: str) -> bool:
    return path.endswith(SUFFIX)


# --- the JSON file ----------------------------------------------------------------------------------------------

@dataclass
class Notebook:
    text: str  # the JSON as read (decoded, without a BOM)
    cells: list[dict]
    spans: dict[int, tuple[int, int]]  # cell index -> where its "source" value lies in `text`
    style: _Style
    python: bool  # False for an R, Julia, ... kernel: nothing to check

    def source(self, index: int) -> str:
        value = self.cells[index]["source"]
        return value if isinstance(value, str) else "".join(value)

    def code_cells(self) -> list[int]:
        return [i for i, cell in enumerate(self.cells) if cell.get("cell_type") == "code"] if self.python else []

    def with_sources(self, sources: dict[int, str]) -> str:
        """The JSON text with these cells' sources replaced, and every other byte as it was."""
        pieces, position = [], 0
        for index in sorted(sources):
            start, end = self.spans[index]
            pieces += [self.text[position:start], self._dump_source(index, sources[index])]
            position = end
        pieces.append(self.text[position:])
        return "".join(pieces)

    def _dump_source(self, index: int, text: str) -> str:
        # The form the file had (a list of lines, as nbformat writes, or one string) in the file's own style.
        value = split_lines(text) if isinstance(self.cells[index]["source"], list) else text
        if self.style.indent is None:
            return json.dumps(value, ensure_ascii=self.style.ensure_ascii, separators=(self.style.separator, ": "))
        line_start = self.text.rfind("\n", 0, self.spans[index][0]) + 1
        base = re.match(r"[ \t]*", self.text[line_start:]).group()
        dumped = json.dumps(value, ensure_ascii=self.style.ensure_ascii, indent=self.style.indent)
        return dumped.replace("\n", self.style.newline + base)


@dataclass(frozen=True)
class _Style:
    """How the file's JSON was written, so that a rewritten `source` looks like its neighbours."""

    indent: str | None  # one indentation step; None when the file is on one line
    newline: str  # "\n", or "\r\n" in a file saved with Windows line endings
    separator: str  # between array items, in a file on one line
    ensure_ascii: bool  # non-ASCII characters written as \u escapes


def _style(text: str, first_member_end: int) -> _Style:
    opening = _SPACE.match(text, text.index("{") + 1).group()
    indent = opening[opening.rfind("\n") + 1:] if "\n" in opening else None
    after = re.compile(r"[ \t]*,([ \t]*)").match(text, first_member_end)
    separator = "," + (after.group(1) if after else " ")
    ascii_only = not re.search(r"[^\x00-\x7f]", text)
    escapes = re.search(r"\\u(?!00[0-7])[0-9a-fA-F]{4}", text) is not None
    return _Style(indent, "\r\n" if "\r\n" in opening else "\n", separator, ascii_only and escapes)


def parse(text: str) -> Notebook:
    """The notebook in `text`, or NotebookError saying in one line why it is not one autofix can read."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookError(f"not a valid notebook: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from None
    except RecursionError:
        raise NotebookError("not a valid notebook: its JSON is nested too deeply") from None
    if not isinstance(data, dict):
        raise NotebookError("not a Jupyter notebook: the JSON is not an object")
    version = data.get("nbformat")
    if not isinstance(version, int) or isinstance(version, bool):
        raise NotebookError("not a Jupyter notebook: no `nbformat` version")
    if version < 4:
        raise NotebookError(f"nbformat {version} notebooks are not supported (only nbformat 4); "
                            "upgrade it with `jupyter nbconvert --to notebook --inplace`")
    if version > 4:
        raise NotebookError(f"nbformat {version} notebooks are not supported (only nbformat 4)")
    if not isinstance(data.get("cells"), list):
        raise NotebookError("not a valid notebook: no `cells` list")
    cells = data["cells"]
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise NotebookError(f"not a valid notebook: cell {number} is not an object with a `cell_type`")
        source = cell.get("source")
        if cell["cell_type"] == "code" and not (
            isinstance(source, str) or isinstance(source, list) and all(isinstance(s, str) for s in source)
        ):
            raise NotebookError(f"not a valid notebook: cell {number}'s `source` is neither a string nor a list of strings")
    spans, first_member_end = _source_spans(text)
    return Notebook(text, cells, spans, _style(text, first_member_end), _is_python(data.get("metadata")))


def from_sources(sources: list[str | None]) -> Notebook:
    """A notebook made of cell sources alone (None for a cell that is not code), as an editor holds one open:
    there is no JSON text to splice into, so only `module_of` and `Module.fixed_cells` apply to it."""
    cells = [{"cell_type": "code" if text is not None else "markdown", "source": text or ""} for text in sources]
    return Notebook("", cells, {}, _Style(None, "\n", ", ", False), True)


def _is_python(metadata) -> bool:
    if not isinstance(metadata, dict):
        return True
    for key, name in (("language_info", "name"), ("kernelspec", "language")):
        table = metadata.get(key)
        if isinstance(table, dict) and isinstance(table.get(name), str):
            return table[name].lower() == "python"
    return True


def _source_spans(text: str) -> tuple[dict[int, tuple[int, int]], int]:
    """Where each cell's "source" value starts and ends in the JSON text (already known to be valid), and where
    the top-level object's first member ends."""
    scan = json.scanner.make_scanner(json.JSONDecoder())
    members = _members(text, _skip(text, 0), scan)
    top = {key: start for key, start, _ in members}  # the last of duplicate keys wins, as in json.loads
    spans = {}
    for index, start in enumerate(_elements(text, top["cells"], scan)):
        for key, value_start, value_end in _members(text, start, scan):
            if key == "source":
                spans[index] = (value_start, value_end)
    return spans, members[0][2]


def _skip(text: str, position: int) -> int:
    return _SPACE.match(text, position).end()


def _members(text: str, position: int, scan) -> list[tuple[str, int, int]]:
    """(key, value start, value end) for each member of the object at text[position] == "{"."""
    members = []
    position = _skip(text, position + 1)
    while text[position] != "}":
        key, position = json.decoder.scanstring(text, position + 1)
        position = _skip(text, _skip(text, position) + 1)  # past the colon
        _, end = scan(text, position)
        members.append((key, position, end))
        position = _skip(text, end)
        if text[position] == ",":
            position = _skip(text, position + 1)
    return members


def _elements(text: str, position: int, scan) -> list[int]:
    """Where each element of the array at text[position] == "[" starts."""
    starts = []
    position = _skip(text, position + 1)
    while text[position] != "]":
        starts.append(position)
        _, end = scan(text, position)
        position = _skip(text, end)
        if text[position] == ",":
            position = _skip(text, position + 1)
    return starts


# --- the module the engine checks ------------------------------------------------------------------------------

@dataclass
class _Masked:
    original: str  # the line as written, without its line ending
    indent: str  # the placeholder's indentation
    magic: str  # what it is: "%time", "!pip", "?", "%%time", "from __future__" ...


@dataclass
class _Cell:
    index: int  # in the notebook's cells, from 0
    text: str  # the source as in the notebook
    lines: list[str]  # as given to the engine: magics masked, always ending in a newline
    masked: dict[int, _Masked] = field(default_factory=dict)  # placeholder number -> what it hides
    cell_magic: int | None = None  # the placeholder of a `%%time`-style first line, which must stay first

    def restore(self, lines: list[str]) -> str:
        """This cell's new source from its part of a fixed module; NotebookError if a fix damaged the masking."""
        out, seen = [], []
        for line in lines:
            content = line.rstrip("\r\n")
            match = _PLACEHOLDER.fullmatch(content)
            if match is None:
                out.append(line)
                continue
            number, masked = int(match.group(2)), self.masked.get(int(match.group(2)))
            if masked is None:
                raise NotebookError(f"a fix moved IPython syntax into cell {self.index + 1}")
            seen.append(number)
            indent = match.group(1)
            restored = masked.original if indent == masked.indent else indent + masked.original.lstrip()
            out.append(restored + line[len(content):])
        if seen != list(self.masked):
            raise NotebookError(f"a fix removed or reordered IPython syntax in cell {self.index + 1}")
        if self.cell_magic is not None and _first_code_line(out) != self.masked[self.cell_magic].original:
            raise NotebookError(f"a fix put code before the cell magic of cell {self.index + 1}")
        text = "".join(out)
        if not self.text.endswith("\n") and text.endswith("\n"):
            text = text[:-1]
        return text


@dataclass
class Module:
    """The code cells of a notebook as one Python module, with the way back to cells."""

    notebook: Notebook
    text: str
    cells: list[_Cell]
    rows: list[tuple[int, int]]  # module line - 1 -> (cell index from 0, line in the cell from 1)
    left_out: list[tuple[int, str]]  # (cell index, cell magic) of cells that are not Python

    def locate(self, line: int) -> tuple[int, int]:
        """A module line (from 1) as (cell number from 1, line in that cell from 1)."""
        if not self.rows:
            return 1, line
        index, cell_line = self.rows[min(max(line, 1), len(self.rows)) - 1]
        return index + 1, cell_line

    def locate_message(self, message: str) -> str:
        """A ParseFailure message with its `at LINE:COL` position given as `at cell N:LINE:COL`."""
        def cell_position(match: re.Match) -> str:
            cell, line = self.locate(int(match.group(1)))
            return f"at cell {cell}:{line}{match.group(2)}"

        return re.sub(r"\bat (\d+)(:\d+|\b)", cell_position, message, count=1)

    def message_in_cells(self, message: str, cell: int) -> str:
        """A finding's message with each `line N` it names (a line of the joined module) given as the line in the
        finding's own `cell`, or as `cell C line L` when it lies in another cell. Code quoted in backticks is
        left as written."""
        def in_cell(match: re.Match) -> str:
            other, line = self.locate(int(match.group(1)))
            return f"line {line}" if other == cell else f"cell {other} line {line}"

        parts = message.split("`")
        parts[::2] = [re.sub(r"\bline (\d+)\b", in_cell, part) for part in parts[::2]]
        return "`".join(parts)

    def fixed_notebook(self, fixed_text: str) -> str | None:
        """The notebook's JSON with the fixed module's cells in it (None when no cell changed)."""
        changed = self.fixed_cells(fixed_text)
        return self.notebook.with_sources(changed) if changed else None

    def fixed_cells(self, fixed_text: str) -> dict[int, str]:
        """The new source of each cell the fixed module changed, by cell index (from 0); NotebookError when a fix
        would move code across a cell boundary or damage the masked IPython syntax."""
        parts: list[list[str]] = [[]]
        for line in split_lines(fixed_text):
            if line.rstrip("\r\n") == CELL_BOUNDARY:
                parts.append([])
            else:
                parts[-1].append(line)
        if len(parts) != len(self.cells):
            raise NotebookError("a fix would move code across a cell boundary; the notebook's fixes were not applied")
        changed = {}
        for cell, lines in zip(self.cells, parts):
            new = cell.restore(lines)
            if new != cell.text:
                changed[cell.index] = new
        _refuse_moves({cell.index: cell.text for cell in self.cells if cell.index in changed}, changed)
        return changed


def _refuse_moves(old: dict[int, str], new: dict[int, str]) -> None:
    """A statement that leaves one cell and arrives in another: the boundary line survived, the cells did not.

    Only lines a cell lost or gained on balance count, so a statement moved within each of two cells (the same
    training loop fixed in two places) is not mistaken for one moved between them.
    """
    lost, gained = {}, {}
    for index, text in new.items():
        before = Counter(line.strip() for line in old[index].splitlines() if line.strip())
        after = Counter(line.strip() for line in text.splitlines() if line.strip())
        lost[index], gained[index] = before - after, after - before
    for source_cell, lines in lost.items():
        for target_cell, arrived in gained.items():
            if target_cell != source_cell and lines & arrived:
                raise NotebookError(f"a fix would move code from cell {source_cell + 1} to cell {target_cell + 1}; "
                                    "the notebook's fixes were not applied")


def module_of(notebook: Notebook) -> Module:
    cells: list[_Cell] = []
    left_out: list[tuple[int, str]] = []
    lines: list[str] = []
    rows: list[tuple[int, int]] = []
    counter = itertools.count()  # placeholders are numbered across the notebook: one cannot pass for another
    for index in notebook.code_cells():
        text = notebook.source(index)
        cell_lines = split_lines(text)
        if cell_lines and not cell_lines[-1].endswith("\n"):
            cell_lines[-1] += "\n"
        cell = _Cell(index, text, cell_lines)
        magic = _cell_magic(cell_lines)
        if magic is not None:
            position, name = magic
            if name not in PYTHON_CELL_MAGICS:
                left_out.append((index, "%%" + name))
                continue
            cell.cell_magic = _mask(cell, position, f"%%{name}", counter)
        _mask_line_magics(cell, first=not cells, counter=counter)
        if cells:
            lines.append(CELL_BOUNDARY + "\n")
            rows.append((cells[-1].index, len(cells[-1].lines) + 1))
        lines += cell.lines
        rows += [(index, number) for number in range(1, len(cell.lines) + 1)]
        cells.append(cell)
    return Module(notebook, "".join(lines), cells, rows, left_out)


def _cell_magic(lines: list[str]) -> tuple[int, str] | None:
    """(line index, name) of the cell magic that opens the cell (after blank lines, as IPython allows)."""
    for position, line in enumerate(lines):
        if line.strip():
            match = re.match(r"%%([^\s(]+)", line)
            return (position, match.group(1)) if match else None
    return None


def _mask(cell: _Cell, position: int, magic: str, counter: itertools.count, indent: str | None = None) -> int:
    line = cell.lines[position]
    content = line.rstrip("\r\n")
    if indent is None:
        indent = content[: len(content) - len(content.lstrip())]
    number = next(counter)
    cell.masked[number] = _Masked(content, indent, magic)
    cell.lines[position] = f"{indent}pass  # autofix-magic-{number}" + line[len(content):]
    return number


def _mask_line_magics(cell: _Cell, first: bool, counter: itertools.count) -> None:
    """Mask every line that starts a statement with IPython syntax (never a line inside a string or brackets)."""
    depth, quote, continued = 0, None, False
    magic_indent = None  # while a masked magic continues onto the next line with a backslash
    for position, line in enumerate(cell.lines):
        if magic_indent is not None:
            _mask(cell, position, "continuation", counter, indent=magic_indent)
            magic_indent = magic_indent if line.rstrip("\r\n").endswith("\\") else None
            continue
        content = line.rstrip("\r\n")
        stripped = content.strip()
        starts_statement = depth == 0 and quote is None and not continued
        if starts_statement and stripped and not _PLACEHOLDER.fullmatch(content):
            kind = _magic_kind(stripped, top_level=not first and content == content.lstrip())
            if kind is not None:
                _mask(cell, position, kind, counter)
                if content.endswith("\\"):
                    magic_indent = content[: len(content) - len(content.lstrip())]
                continue
        depth, quote, continued = _scan(line, depth, quote)


def _magic_kind(stripped: str, top_level: bool) -> str | None:
    """What IPython syntax a statement's first line is: "%time", "!pip", "?", "= !ls" ...; None for Python."""
    if stripped.startswith("?") or _HELP.fullmatch(stripped):
        return "?"
    if stripped.startswith(_ESCAPES):
        return re.match(r"[%!/,;]+[\w.-]*", stripped).group()
    match = _MAGIC_ASSIGNMENT.match(stripped)
    if match:
        return "= " + re.match(r"[%!][\w.-]*", stripped[match.end() - 1:]).group()
    if top_level and _FUTURE.match(stripped):
        return "from __future__"  # only legal at the top of a module; in a later cell, only at the top of that cell
    return None


def _scan(line: str, depth: int, quote: str | None) -> tuple[int, str | None, bool]:
    """After `line`: bracket depth, the quote of a string still open, and whether a backslash continues the line."""
    position, length, comment = 0, len(line), False
    while position < length:
        char = line[position]
        if quote is not None:
            if char == "\\":
                position += 2
            elif line.startswith(quote, position):
                position += len(quote)
                quote = None
            else:
                position += 1
            continue
        if char == "#":
            comment = True
            break
        if char in "\"'":
            quote = char * 3 if line.startswith(char * 3, position) else char
            position += len(quote)
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(0, depth - 1)
        position += 1
    content = line.rstrip("\r\n")
    if quote is not None and len(quote) == 1 and not content.endswith("\\"):
        quote = None  # an unterminated one-line string: a syntax error the engine reports
    continued = not comment and quote is None and content.endswith("\\")
    return depth, quote, continued


def _first_code_line(lines: list[str]) -> str | None:
    return next((line.rstrip("\r\n") for line in lines if line.strip()), None)


# --- reading a notebook's changes ----------------------------------------------------------------------------

def cells_on_lines(text: str, lines: set[int]) -> set[int]:
    """Numbers (from 1) of the cells whose source is written on one of these lines (from 1) of the JSON text."""
    cells = set()
    for index, (start, end) in parse(text).spans.items():
        first, last = text.count("\n", 0, start) + 1, text.count("\n", 0, end) + 1
        if lines.intersection(range(first, last + 1)):
            cells.add(index + 1)
    return cells


def changed_cells(before: str, after: str) -> list[tuple[int, str, str]]:
    """(cell number from 1, old source, new source) of every cell whose source differs."""
    old, new = parse(before), parse(after)
    return [
        (index + 1, old.source(index), new.source(index))
        for index in old.code_cells()
        if index < len(new.cells) and old.source(index) != new.source(index)
    ]


def cell_diff(path: str, before: str, after: str, context: int = 3) -> str:
    """A unified diff of each changed cell's source, for reading: its headers name cells, so no tool applies it."""
    out = [f"# {path}: a diff of notebook cells, for reading (not a patch for `git apply`)\n"]
    for number, old, new in changed_cells(before, after):
        label = f"{path}:cell {number}"
        old_lines, new_lines = split_lines(_ended(old)), split_lines(_ended(new))
        out += difflib.unified_diff(old_lines, new_lines, label, label, n=context)
    return "".join(line if line.endswith("\n") else line + "\n" for line in out)


def _ended(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


# --- running a notebook as a script (the validation harness) --------------------------------------------------

# What a script may leave out and still train as the notebook does: display, environment set-up, timing.
_HARMLESS = frozenset({
    "%matplotlib", "%config", "%load_ext", "%reload_ext", "%autoreload", "%pip", "%conda", "!pip", "!conda",
    "%who", "%whos", "%lsmagic", "?", "??", "%%capture", "%%time", "%%prun", "from __future__",
})
_DISPLAY_CELL_MAGICS = frozenset({"html", "javascript", "js", "markdown", "latex", "svg"})
_FRONT_END_NAMES = ("display", "get_ipython")


def as_script(text: str) -> str:
    """The notebook's code cells as a plain Python script, or NotebookError saying why it cannot be one.

    Each line stays on its module line (IPython lines become `pass`; `%time stmt` becomes `stmt`).
    """
    module = module_of(parse(text))
    for index, magic in module.left_out:
        if magic[2:] not in _DISPLAY_CELL_MAGICS:
            raise NotebookError(f"cell {index + 1} is a {magic} cell, which only IPython can run, "
                                "so a script cannot stand in for the notebook")
    masked = {number: (cell, m) for cell in module.cells for number, m in cell.masked.items()}
    lines = split_lines(module.text)
    head = None  # the magic a continuation line belongs to
    for row, line in enumerate(lines):
        match = _PLACEHOLDER.fullmatch(line.rstrip("\r\n"))
        if match is None:
            continue
        cell, magic = masked[int(match.group(2))]
        if magic.magic != "continuation":
            head = magic
        if head.magic == "%time" and not head.original.endswith("\\"):  # `%time stmt` runs stmt once
            lines[row] = magic.indent + magic.original.lstrip()[len("%time"):].strip() + line[len(line.rstrip("\r\n")):]
        elif head.magic not in _HARMLESS:
            raise NotebookError(f"cell {cell.index + 1} uses `{head.original.strip()}`, which only IPython can run, "
                                "so a script cannot stand in for the notebook")
    script = "".join(lines)
    try:
        tree = ast.parse(script)
    except SyntaxError as error:
        cell_number, line = module.locate(error.lineno or 1)
        raise NotebookError(f"syntax error at cell {cell_number}:{line}: {error.msg}") from None
    _refuse_front_end_names(tree, module)
    return script


def _refuse_front_end_names(tree: ast.Module, module: Module) -> None:
    """`display()` and `get_ipython()` are builtins only in IPython: a script that calls them would fail."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in _FRONT_END_NAMES and node.id not in bound:
            cell, _ = module.locate(node.lineno)
            raise NotebookError(f"cell {cell} calls {node.id}(), which only a notebook front-end provides, "
                                "so a script cannot stand in for the notebook")
