"""GF607: `view()`/`reshape()` whose target lists the tensor's own dimensions in another order (a transpose meant)."""
from __future__ import annotations

import ast

from autofix.lazy import libcst as cst
from autofix.rule import Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import Binding, Kind, SemanticModel
from codemods._torch import AllOf, AnyWord, receiver

_RNNS = frozenset({"torch.nn.LSTM", "torch.nn.GRU", "torch.nn.RNN", "torch.nn.modules.rnn.LSTM",
                   "torch.nn.modules.rnn.GRU", "torch.nn.modules.rnn.RNN"})
_REORDERS = frozenset({"permute", "transpose", "contiguous", "view", "reshape"})
_REST = ("rest",)
_DEPTH = 6

_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(7)


class PixelClassifier(nn.Module):
    # A per-pixel linear classifier over the channels of a (batch, channels, height, width) image.
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        b, c, h, w = x.shape
        pixels = x.view(b, h, w, c)
        return self.head(pixels)


x = torch.randn(16, 3, 5, 4, generator=g)
y = (x[:, 0] > x[:, 1]).long()  # each pixel's label depends on its own channels only
x, y = x.to(device), y.to(device)
model = PixelClassifier().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
for step in range(10):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x).permute(0, 3, 1, 2), y)
    loss.backward()
    optimizer.step()
"""


class ViewAsTranspose(Rule):
    """
    ## What it does
    Finds `x.view(...)`/`x.reshape(...)` (and `torch.reshape(x, ...)`) whose target shape lists `x`'s own
    dimensions in another order: `b, c, h, w = x.shape; x.view(b, h, w, c)`, `x.view(x.size(0), x.size(2),
    x.size(1))`, `x.reshape(b, -1, c)`. The sizes are known from what they hold, not from their names: names unpacked
    from `x.shape`/`x.size()`, `x.size(i)`, `x.shape[i]`, products of them (merged dimensions) and one `-1` (the
    dimensions not listed), followed through `permute`, `transpose`, `contiguous` and the output of an
    `nn.LSTM`/`GRU`/`RNN`, whose first two dimensions are its input's (seq, batch; or batch, seq with
    `batch_first=True`).

    ## Why is this bad?
    `view` and `reshape` never move elements: they read the tensor in memory order and cut it into the new shape.
    Asking for `(b, h, w, c)` from a `(b, c, h, w)` tensor gives the right shape with the wrong contents: most
    elements land in another place (autograd fact "view(2, 4, 5, 3) is not permute(0, 2, 3, 1): most elements
    land elsewhere"; 97% differ), and for an RNN's output, time steps of different batch items end up in one
    sequence. Nothing raises, since the sizes multiply out; the model trains on scrambled inputs.

    ## Example
    ```python
    b, c, h, w = x.shape
    pixels = x.view(b, h, w, c)
    ```

    ## Use instead
    ```python
    pixels = x.permute(0, 2, 3, 1)
    ```
    (and `x.permute(0, 2, 3, 1).reshape(b, h * w, c)` where dimensions are merged too).

    ## Runtime
    Silent: the values are scrambled; the model trains on the wrong data layout.

    ## Fix safety
    Repairing: the fix moves the dimensions (`x.transpose(i, j)` for one swap, `x.permute(...)` otherwise, followed by
    `.reshape(...)` as written where dimensions are merged or `-1` is used). It is safe where the result is only
    computed with; it is unsafe where the result (or a name bound to it) is later given to `.view()`: a permuted
    tensor is not contiguous, so that `.view()` raises "view size is not compatible with input tensor's size and
    stride" until it becomes `.reshape()` or a `.contiguous()` is added. A `.reshape` of something the model does not
    know as a tensor (a NumPy array has no `.permute`) is reported without a fix; `.view(sizes...)` is the tensor's
    own (NumPy's `.view` takes a dtype).

    Not reported: merging or splitting dimensions in order (`x.view(b, c, h * w)`, `x.view(b, -1)`), a view after
    `permute(...).contiguous()` that lists the permuted order, any size the file does not tie to the tensor
    (`c // heads`, a constant, an argument), and a reordered view whose result is sliced and viewed again, or whose
    rows are cut by a slice: the relative-position shift of Transformer-XL (and Funnel, XLNet, ...) and the skew of
    relative attention (Music Transformer) read memory in another order on purpose.

    ## Effect
    Repairing: each element goes where the target's dimensions say.
    """

    code = "GF607"
    name = "view-as-transpose"
    message = "view()/reshape() lists the dimensions in another order: it does not move elements; use permute()"
    runtime = "silent: the values are scrambled into the new shape"
    fix_applicability = Applicability.SAFE
    fix_effect = Effect.REPAIRING
    # A view or reshape (`torch.reshape` may be imported by name), and a size read from a tensor.
    prefilter = AllOf(AnyWord(".view(", "reshape("), AnyWord(".size(", ".shape"))

    examples = (
        Invalid(
            "import torch\n\n\ndef to_pixels(x: torch.Tensor):\n    b, c, h, w = x.shape\n    return x.view(b, h, w, c)\n",
            "import torch\n\n\ndef to_pixels(x: torch.Tensor):\n    b, c, h, w = x.shape\n    return x.permute(0, 2, 3, 1)\n",
            "names unpacked from the shape, listed in another order",
        ),
        Invalid(
            "import torch\n\n\ndef swap(x: torch.Tensor):\n    return x.reshape(x.size(0), x.size(2), x.size(1))\n",
            "import torch\n\n\ndef swap(x: torch.Tensor):\n    return x.transpose(1, 2)\n",
            "sizes from x.size(i): one swap becomes transpose",
        ),
        Invalid(
            "import torch\n\n\ndef tokens(feat: torch.Tensor):\n    n, c, h, w = feat.size()\n"
            "    return feat.view(n, h * w, c)\n",
            "import torch\n\n\ndef tokens(feat: torch.Tensor):\n    n, c, h, w = feat.size()\n"
            "    return feat.permute(0, 2, 3, 1).reshape(n, h * w, c)\n",
            "merged dimensions listed after the channel they came after",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass Tagger(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.rnn = nn.LSTM(16, 32)\n        self.out = nn.Linear(32, 5)\n\n"
            "    def forward(self, x):\n        seq_len, batch = x.size(0), x.size(1)\n        out, _ = self.rnn(x)\n"
            "        return self.out(out.reshape(batch, seq_len, -1))\n",
            "import torch\nimport torch.nn as nn\n\n\nclass Tagger(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.rnn = nn.LSTM(16, 32)\n        self.out = nn.Linear(32, 5)\n\n"
            "    def forward(self, x):\n        seq_len, batch = x.size(0), x.size(1)\n        out, _ = self.rnn(x)\n"
            "        return self.out(out.transpose(0, 1))\n",
            "an LSTM's (seq, batch, hidden) output read as (batch, seq, hidden)",
        ),
        Invalid(
            "import torch.nn as nn\n\n\nclass Encoder(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.lstm = nn.LSTM(8, 16)\n\n    def forward(self, inputs):\n"
            "        batch_size, seq_len, _ = inputs.shape\n        out, _ = self.lstm(inputs.transpose(0, 1))\n"
            "        return out.view(batch_size, seq_len, -1)\n",
            "import torch.nn as nn\n\n\nclass Encoder(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.lstm = nn.LSTM(8, 16)\n\n    def forward(self, inputs):\n"
            "        batch_size, seq_len, _ = inputs.shape\n        out, _ = self.lstm(inputs.transpose(0, 1))\n"
            "        return out.transpose(0, 1)\n",
            "batch-first data transposed into an LSTM: its (seq, batch) output viewed back as (batch, seq)",
        ),
        Invalid(
            "import torch\n\n\ndef heads(x: torch.Tensor):\n    b, c, t = x.shape\n    y = x.view(b, t, c)\n"
            "    return y.view(b * t, c)\n",
            None,
            "the result is viewed again: permute's non-contiguous result would make that view raise (unsafe)",
            "import torch\n\n\ndef heads(x: torch.Tensor):\n    b, c, t = x.shape\n    y = x.transpose(1, 2)\n"
            "    return y.view(b * t, c)\n",
        ),
        Valid(
            "import torch\n\n\ndef flat(x: torch.Tensor):\n    b, c, h, w = x.shape\n    return x.view(b, c, h * w)\n",
            "merging dimensions in order",
        ),
        Valid(
            "import torch\n\n\ndef pixels(x: torch.Tensor):\n    b, c, h, w = x.shape\n"
            "    return x.permute(0, 2, 3, 1).contiguous().view(b, h * w, c)\n",
            "view after permute(...).contiguous() lists the permuted order",
        ),
        Valid(
            "import torch\n\n\ndef split_heads(x: torch.Tensor, heads: int):\n    b, t, c = x.size()\n"
            "    return x.view(b, t, heads, c // heads).transpose(1, 2)\n",
            "splitting a dimension with a size the file does not tie to the tensor",
        ),
        Valid(
            "import torch\n\n\ndef regroup(x: torch.Tensor, y: torch.Tensor):\n    b, c, h, w = y.shape\n"
            "    return x.view(b, h, w, c)\n",
            "the sizes come from another tensor",
        ),
        Valid(
            "import torch\n\n\ndef batch_rows(x: torch.Tensor):\n    b = x.size(0)\n    return x.view(b, -1)\n",
            "flattening all but the first dimension",
        ),
        Valid(
            "import torch\n\n\ndef rel_shift(scores: torch.Tensor):\n    b, h, q, k = scores.shape\n"
            "    scores = scores.reshape(b, h, k, q)[:, :, 1:]\n    return scores.reshape(b, h, q, k - 1)\n",
            "the relative-position shift: memory read in another order, sliced, and viewed again on purpose",
        ),
        Valid(
            "import torch\n\n\ndef gram(y: torch.Tensor):\n    b, ch, h, w = y.size()\n    f = y.view(b, ch, w * h)\n"
            "    return f.bmm(f.transpose(1, 2))\n",
            "the merged size written as `w * h`: a product is one number, the same merge as `h * w`",
        ),
        Valid(
            "import torch\nimport torch.nn.functional as F\n\n\ndef skew(rel: torch.Tensor):\n"
            "    padded = F.pad(rel, (1, 0))\n    b, h, rows, cols = padded.shape\n"
            "    flipped = padded.reshape(b, h, cols, rows)\n    return flipped[:, :, 1:, :]\n",
            "the skew of relative attention: a padded score matrix read as (cols, rows) and its first row cut off, "
            "on purpose",
        ),
    )

    scenarios = (Scenario("per-pixel-classifier-viewed-as-transpose", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        shapes = None
        for call in model.nodes(ast.Call):
            viewed, target = _view_call(model, call)
            if viewed is None:
                continue
            if shapes is None:
                shapes = _Shapes(model)
            order = shapes.order(viewed, target)
            if order is None or order == sorted(order):
                continue
            if _reinterpreted(model, call):
                continue  # sliced and viewed again: memory reinterpreted on purpose (the relative-shift trick)
            form = _fix_form(order, target)
            held = model.value(viewed).kind
            if held in (Kind.OBJECT, Kind.CONTAINER, Kind.MODULE):
                continue
            # `.view(sizes...)` is the Tensor's (NumPy's `.view` takes a dtype); `.reshape` is NumPy's too.
            tensor = held in (Kind.TENSOR, Kind.PARAMETER) or isinstance(call.func, ast.Attribute) \
                and call.func.attr == "view"
            later_view = _viewed_later(model, call)
            applicability = None
            if tensor and isinstance(call.func, ast.Attribute):
                applicability = Applicability.UNSAFE if later_view and form[0] != "reshape" else Applicability.SAFE
            note = ("; the result is viewed again later, which needs .contiguous() or .reshape() after a permute"
                    if later_view and form[0] != "reshape" else "")
            self.report(
                call,
                f"`{call.func.attr if isinstance(call.func, ast.Attribute) else 'reshape'}` lists the dimensions of "
                f"`{model.source(viewed)}` in another order ({', '.join(map(str, order))}): it does not move elements, "
                f"so the values are scrambled; use `{_spell(form)}`{note}",
                fix=applicability,
                data=form,
            )

    def fix(self, finding, tree) -> Fix | None:
        node = tree.node_at(finding.range, cst.Call)
        if node is None or not isinstance(node.func, cst.Attribute):
            return None
        kind, perm, reshape = finding.data
        base = receiver(node.func.value)
        if kind == "transpose":
            moved = _method(base, "transpose", perm)
        else:
            moved = _method(base, "permute", perm)
        if reshape:
            moved = cst.Call(func=cst.Attribute(moved, cst.Name("reshape")), args=node.args)
        applicability = finding.fix.applicability if finding.fix else Applicability.SAFE
        return Fix((Edit(node, moved),), applicability, Effect.REPAIRING)


def _method(base: cst.BaseExpression, name: str, numbers: tuple[int, ...]) -> cst.Call:
    args = [cst.Arg(cst.Integer(str(n)), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            for n in numbers]
    if args:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return cst.Call(func=cst.Attribute(base, cst.Name(name)), args=args)


def _fix_form(order: list[int], target: list[ast.AST]) -> tuple[str, tuple[int, ...], bool]:
    """("transpose", (i, j), reshape?) for one swap, else ("permute", order, reshape?): reshape is needed where the
    target merges dimensions or uses -1 (the permuted tensor does not have the target's shape yet)."""
    merged = len(order) != len(target)
    swapped = [i for i, d in enumerate(order) if d != i]
    if len(swapped) == 2 and order[swapped[0]] == swapped[1] and order[swapped[1]] == swapped[0]:
        return ("transpose", tuple(swapped), merged)
    return ("permute", tuple(order), merged)


def _spell(form: tuple[str, tuple[int, ...], bool]) -> str:
    kind, numbers, reshape = form
    return f".{kind}({', '.join(map(str, numbers))})" + (".reshape(...)" if reshape else "")


def _view_call(model: SemanticModel, call: ast.Call) -> tuple[ast.AST | None, list[ast.AST]]:
    """For `x.view(a, b)`, `x.view((a, b))`, `x.reshape(...)` and `torch.reshape(x, (a, b))`: (x, [a, b])."""
    func = call.func
    if call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
        return None, []
    if isinstance(func, ast.Attribute) and func.attr in ("view", "reshape") and call.args:
        if model.qualified_name(func) == "torch.reshape":
            if len(call.args) == 2 and isinstance(call.args[1], (ast.Tuple, ast.List)):
                return call.args[0], list(call.args[1].elts)
            return None, []
        if model.qualified_name(func) is not None:
            return None, []  # a module-level function named view/reshape
        if len(call.args) == 1 and isinstance(call.args[0], (ast.Tuple, ast.List)):
            return func.value, list(call.args[0].elts)
        return func.value, list(call.args)
    # The shape of the arguments first: the qualified name costs a lookup, and this runs for every call of the file.
    if len(call.args) == 2 and isinstance(call.args[1], (ast.Tuple, ast.List)) \
            and model.qualified_name(func) == "torch.reshape":
        return call.args[0], list(call.args[1].elts)
    return None, []


def _reinterpreted(model: SemanticModel, call: ast.Call, depth: int = 0) -> bool:
    """The result is sliced and then viewed or reshaped again (`x = x.reshape(b, h, k, q)[:, :, 1:]`, then
    `x.reshape(b, h, q, k - 1)`): the relative-position shift of Transformer-XL and its descendants reads memory in
    another order on purpose, and restores a layout afterwards."""
    parent = model.parent(call)
    if isinstance(parent, ast.Subscript) and parent.value is call:
        return _drops_rows(parent) or _reshaped(model, parent, depth)
    for use in _result_uses(model, call):
        if isinstance(use, ast.Subscript) and (_drops_rows(use) or _reshaped(model, use, depth)):
            return True
    return False


def _drops_rows(subscript: ast.Subscript) -> bool:
    """A slice with a bound cuts rows off the reordered result (`reshaped[:, :, 1:, :]`): the skew of relative
    attention (Music Transformer) pads a column, reads the memory as (cols, rows) and drops the first row, on
    purpose. A transposed view by mistake is used whole."""
    index = subscript.slice
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    return any(isinstance(p, ast.Slice) and (p.lower is not None or p.upper is not None) for p in parts)


def _reshaped(model: SemanticModel, expr: ast.AST, depth: int) -> bool:
    """`expr` (or a name bound to it, or a slice of it) is given to view/reshape."""
    parent = model.parent(expr)
    if isinstance(parent, ast.Attribute) and parent.attr in ("view", "reshape"):
        return True
    if isinstance(parent, ast.Call) and expr in parent.args and model.qualified_name(parent.func) == "torch.reshape":
        return True
    if depth > 2:
        return False
    if isinstance(parent, ast.Subscript) and parent.value is expr:
        return _reshaped(model, parent, depth + 1)
    return any(_reshaped(model, use, depth + 1) for use in _result_uses(model, expr))


def _result_uses(model: SemanticModel, expr: ast.AST) -> list[ast.AST]:
    """Where the value of `expr` goes: the expression around it when it is not bound, else the loads of the name it
    is assigned to that this assignment reaches (in the same function), each with its subscript if it has one."""
    parent = model.parent(expr)
    if not (isinstance(parent, ast.Assign) and parent.value is expr and len(parent.targets) == 1
            and isinstance(parent.targets[0], ast.Name)):
        return [expr]
    name = parent.targets[0].id
    function = model.function(expr)
    uses = []
    for node in model.nodes(ast.Name):
        if node.id == name and isinstance(node.ctx, ast.Load) and model.function(node) is function \
                and any(b.node is parent for b in model.bindings_reaching(name, node) or ()):
            around = model.parent(node)
            uses.append(around if isinstance(around, ast.Subscript) and around.value is node else node)
    return uses


def _viewed_later(model: SemanticModel, call: ast.Call) -> bool:
    """The view's result is given to `.view()` again: directly (`x.view(...).view(...)`), or through the name it is
    bound to (a later `name.view(...)` that this binding reaches)."""
    parent = model.parent(call)
    if isinstance(parent, ast.Attribute) and parent.attr == "view":
        return True
    if not (isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name)):
        return False
    name = parent.targets[0].id
    function = model.function(call)
    for later in model.calls_to_method("view"):
        owner = later.func.value
        if isinstance(owner, ast.Name) and owner.id == name and model.function(later) is function \
                and any(b.node is parent for b in model.bindings_reaching(name, owner) or ()):
            return True
    return False


class _Shapes:
    """Symbolic dimensions: a dimension is (the binding of the tensor it belongs to, its index) until an op moves
    it; sizes are the dimensions they were read from."""

    def __init__(self, model: SemanticModel):
        self.model = model
        self._ndims: dict[int, int] | None = None

    def order(self, viewed: ast.AST, target: list[ast.AST]) -> list[int] | None:
        """The viewed tensor's dimension indices in the order the target lists them (a `-1` stands for the ones it
        does not list, in their order), when every size is tied to one of its dimensions; else None."""
        dims = self.dims(viewed)
        if dims is None:
            return None
        listed: list[list[tuple] | tuple] = []
        for element in target:
            if isinstance(element, ast.UnaryOp) and isinstance(element.op, ast.USub) \
                    and isinstance(element.operand, ast.Constant) and element.operand.value == 1:
                listed.append(_REST)
                continue
            sizes = self.product(element)
            if sizes is None:
                return None
            listed.append(sizes)
        symbols, ndim = dims
        order: list[int] = []
        for sizes in listed:
            if sizes is _REST:
                order.append(-1)
                continue
            merged = []
            for size in sizes:
                index = _index_of(size, symbols)
                if index is None:
                    return None
                merged.append(index)
            order.extend(sorted(merged))  # a product is one number: `w * h` merges the same dims as `h * w`
        if len(set(order) - {-1}) != len([o for o in order if o != -1]) or order.count(-1) > 1:
            return None
        if -1 in order:
            if ndim is None:
                return None
            rest = [i for i in range(ndim) if i not in order]
            position = order.index(-1)
            order = order[:position] + rest + order[position + 1:]
        if ndim is not None and sorted(order) != list(range(ndim)):
            return None  # not every dimension listed once: a split or a shape this rule does not read
        if ndim is None and sorted(order) != list(range(len(order))):
            return None
        return order

    def product(self, expr: ast.AST) -> list[tuple] | None:
        """The dimensions whose sizes multiply to `expr`, in order (`h * w` -> [h, w])."""
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult):
            left, right = self.product(expr.left), self.product(expr.right)
            return None if left is None or right is None else left + right
        size = self.size(expr)
        return None if size is None else [size]

    def size(self, expr: ast.AST, depth: int = 0) -> tuple | None:
        """The dimension whose size `expr` holds: `x.size(i)`, `x.shape[i]`, `x.size()[i]`, or a name bound to one
        (alone, or by unpacking `x.shape`/`x.size()`/`x.shape[:k]`)."""
        if depth > _DEPTH:
            return None
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "size" \
                and len(expr.args) == 1 and not expr.keywords:
            return self._dimension(expr.func.value, expr.args[0])
        if isinstance(expr, ast.Subscript):
            owner = _shape_owner(expr.value)
            if owner is not None:
                return self._dimension(owner, expr.slice)
            return None
        if isinstance(expr, ast.Name):
            bindings = self.model.bindings_reaching(expr.id, expr)
            if not bindings or len(bindings) != 1 or bindings[0].kind != "assign" or bindings[0].value is None:
                return None
            return self._bound_size(bindings[0], depth)
        return None

    def _bound_size(self, binding: Binding, depth: int) -> tuple | None:
        value, path = binding.value, binding.path
        if not path:
            return self.size(value, depth + 1)
        if len(path) != 1:
            return None
        if isinstance(value, ast.Tuple):  # `t, b = x.size(0), x.size(1)`
            return self.size(value.elts[path[0]], depth + 1) if path[0] < len(value.elts) else None
        owner, start, ndim = _unpacked_shape(value, binding)
        if owner is None:
            return None
        dims = self.dims(owner)
        if dims is None:
            return None
        symbols, known = dims
        if ndim is not None and known is not None and ndim != known:
            return None
        return _symbol(symbols, start + path[0])

    def _dimension(self, tensor: ast.AST, index: ast.AST) -> tuple | None:
        if not (isinstance(index, ast.Constant) and type(index.value) is int):
            return None
        dims = self.dims(tensor)
        if dims is None:
            return None
        symbols, ndim = dims
        position = index.value
        if position < 0:
            if ndim is None:
                return None
            position += ndim
        return _symbol(symbols, position)

    def dims(self, expr: ast.AST, depth: int = 0) -> tuple[object, int | None] | None:
        """(symbols, ndim): symbols is a list of dimensions, or the key of a tensor whose dimensions are its own;
        ndim where known."""
        model = self.model
        if depth > _DEPTH:
            return None
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in _REORDERS \
                and model.qualified_name(expr.func) is None:
            return self._reordered(expr, depth)
        if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant) and expr.slice.value == 0:
            return self._rnn_output(expr.value, depth)
        if isinstance(expr, ast.Name):
            bindings = model.bindings_reaching(expr.id, expr)
            if not bindings or len(bindings) != 1:
                return None
            binding = bindings[0]
            if binding.kind == "assign" and binding.value is not None:
                if binding.path == (0,):
                    found = self._rnn_output(binding.value, depth)
                    if found is not None:
                        return found
                elif not binding.path:
                    derived = self.dims(binding.value, depth + 1)
                    if derived is not None:
                        return derived
            if binding.kind not in ("assign", "param", "ann", "for", "with"):
                return None
            return (("tensor", id(binding)), self._unpacked_ndim(binding))
        return None

    def _unpacked_ndim(self, binding: Binding) -> int | None:
        """The number of dimensions of the tensor a binding holds, where the file unpacks its whole shape
        (`b, c, h, w = x.shape`): one pass over the file's assignments, on the first question."""
        if self._ndims is None:
            self._ndims = {}
            for node in self.model.nodes(ast.Assign):
                target = node.targets[0] if len(node.targets) == 1 else None
                if not isinstance(target, (ast.Tuple, ast.List)) \
                        or any(isinstance(e, ast.Starred) for e in target.elts):
                    continue
                owner = _shape_owner(node.value)
                if isinstance(owner, ast.Name):
                    for reaching in self.model.bindings_reaching(owner.id, owner) or ():
                        self._ndims.setdefault(id(reaching), len(target.elts))
        return self._ndims.get(id(binding))

    def _reordered(self, call: ast.Call, depth: int) -> tuple[object, int | None] | None:
        method = call.func.attr
        inner = self.dims(call.func.value, depth + 1)
        if inner is None:
            return None
        if method == "contiguous":
            return inner
        if method in ("view", "reshape"):
            return None  # a new shape: its dimensions are not the input's
        symbols, ndim = inner
        numbers = [a.value if isinstance(a, ast.Constant) and type(a.value) is int else None for a in call.args]
        if call.keywords or None in numbers:
            return None
        if method == "permute":
            if len(numbers) == 1:
                return None
            ndim = ndim if ndim is not None else len(numbers)
            if len(numbers) != ndim or sorted(n % ndim for n in numbers) != list(range(ndim)):
                return None
            listed = [_symbol(symbols, n % ndim) for n in numbers]
            return listed, ndim
        if method == "transpose" and len(numbers) == 2:
            i, j = numbers
            if ndim is None and (i < 0 or j < 0):
                return None
            if ndim is not None:
                i, j = i % ndim, j % ndim
            count = ndim if ndim is not None else max(i, j) + 1
            listed = [_symbol(symbols, n) for n in range(count)]
            listed[i], listed[j] = listed[j], listed[i]
            if ndim is None:
                return None  # dimensions past the last one named are not known
            return listed, ndim
        return None

    def _rnn_output(self, call: ast.AST, depth: int) -> tuple[object, int | None] | None:
        """An `nn.LSTM`/`GRU`/`RNN` call's output: its first two dimensions are its input's (in either layout), its
        last is the hidden size."""
        if not isinstance(call, ast.Call) or not call.args or isinstance(call.args[0], ast.Starred):
            return None
        if self.model.value(call.func).cls not in _RNNS:
            return None
        inner = self.dims(call.args[0], depth + 1)
        if inner is None:
            return None
        symbols, _ = inner
        return [_symbol(symbols, 0), _symbol(symbols, 1), ("hidden", id(call))], 3


def _symbol(symbols: object, index: int) -> tuple:
    if isinstance(symbols, list):
        return symbols[index] if 0 <= index < len(symbols) else ("out of range", index)
    return (symbols, index)


def _index_of(size: tuple, symbols: object) -> int | None:
    if isinstance(symbols, list):
        return symbols.index(size) if size in symbols else None
    if isinstance(size, tuple) and len(size) == 2 and size[0] == symbols:
        return size[1]
    return None


def _shape_owner(expr: ast.AST) -> ast.AST | None:
    """`x` in `x.shape`, `x.size()`."""
    if isinstance(expr, ast.Attribute) and expr.attr == "shape":
        return expr.value
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "size" \
            and not expr.args and not expr.keywords:
        return expr.func.value
    return None


def _unpacked_shape(value: ast.AST, binding: Binding) -> tuple[ast.AST | None, int, int | None]:
    """For a name unpacked from `x.shape`, `x.size()` or `x.shape[:k]`/`x.shape[k:]`: (x, the index of the first
    unpacked dimension, the number of dimensions when the whole shape is unpacked)."""
    count = None
    statement = binding.node
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
            and isinstance(statement.targets[0], (ast.Tuple, ast.List)) \
            and not any(isinstance(e, ast.Starred) for e in statement.targets[0].elts):
        count = len(statement.targets[0].elts)
    owner = _shape_owner(value)
    if owner is not None:
        return owner, 0, count
    if isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Slice) and value.slice.step is None:
        owner = _shape_owner(value.value)
        lower, upper = value.slice.lower, value.slice.upper
        if owner is None or upper is not None and lower is not None:
            return None, 0, None
        if lower is None:
            return owner, 0, None
        if isinstance(lower, ast.Constant) and type(lower.value) is int and lower.value >= 0:
            return owner, lower.value, None
    return None, 0, None
