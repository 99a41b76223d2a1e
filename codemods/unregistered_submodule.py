"""GF601: layers or Parameters held in a plain list, dict or tuple on an `nn.Module`: never registered, never trained."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from autofix.lazy import libcst as cst
from autofix.rule import AddImport, Applicability, Edit, Effect, Fix, Invalid, Rule, Scenario, Valid
from autofix.semantic import Kind, SemanticModel
from codemods._gf6 import REGISTERING_METHODS, fresh_state, module_name, self_name
from codemods._steps import own_nodes
from codemods._torch import Imports, scope_chain

_SCENARIO = """\
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

device = os.environ.get("AUTOFIX_DEVICE", "cpu")
g = torch.Generator().manual_seed(3)


class Tower(nn.Module):
    def __init__(self, depth=2):
        super().__init__()
        self.blocks = [nn.Linear(16, 16) for _ in range(depth)]
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        for block in self.blocks:
            x = torch.tanh(block(x))
        return self.head(x)


model = Tower().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
x = torch.randn(64, 16, generator=g).to(device)
y = torch.randint(0, 4, (64,), generator=g).to(device)
for step in range(10):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
"""

# Calls that only read a container they are given (so the layers in it are not registered anywhere through it).
_READERS = frozenset({"len", "enumerate", "zip", "reversed", "iter", "range", "print", "repr", "str"})
# What each wrapper supports of the plain container's methods (checked on torch 2.13: nn.ModuleList has no
# clear/copy/count/index/remove/reverse/sort; nn.ModuleDict no get/copy/fromkeys/popitem/setdefault;
# nn.ParameterList no insert/pop either).
_SUPPORTED = {
    "ModuleList": frozenset({"append", "extend", "insert", "pop"}),
    "ParameterList": frozenset({"append", "extend"}),
    "ModuleDict": frozenset({"items", "keys", "values", "pop", "update", "clear"}),
    "ParameterDict": frozenset({"items", "keys", "values", "pop", "update", "clear", "get", "copy", "setdefault",
                                "popitem", "fromkeys"}),
}
_ADDERS = frozenset({"append", "extend", "insert"})
# Names a ModuleDict/ParameterDict key may not take: each is an attribute of the container already, and
# `add_module` refuses it with "attribute 'X' already exists" (tests/test_gf6_with_torch.py keeps the list
# complete against torch).
RESERVED_KEYS = frozenset(
    "T_destination add_module apply bfloat16 buffers call_super_init children clear compile copy cpu cuda double "
    "dump_patches eval extra_repr float forward fromkeys get get_buffer get_extra_state get_parameter "
    "get_submodule half ipu items keys load_state_dict modules mtia named_buffers named_children named_modules "
    "named_parameters parameters pop popitem register_backward_hook register_buffer register_forward_hook "
    "register_forward_pre_hook register_full_backward_hook register_full_backward_pre_hook "
    "register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module register_parameter "
    "register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state set_submodule "
    "setdefault share_memory state_dict to to_empty train training type update values xpu zero_grad".split()
)
_VALID_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass
class _Holder:
    """One attribute of a module class that is assigned a plain container."""

    attr: str
    assigns: list[tuple[ast.AST, ast.AST]]  # (value, method)
    elements: list[ast.AST]
    keys: list[ast.AST | None]  # for a dict: the key of each element (None: not a constant)
    methods: set[str]  # methods called on the attribute
    other_use: bool = False  # a use the wrappers may not support (`self.layers + x`, `isinstance(...)`)
    local_mutated_late: bool = False  # the local list the attribute takes is added to after the assignment


class UnregisteredSubmodule(Rule):
    """
    ## What it does
    Finds an `nn.Module` subclass that keeps layers or `nn.Parameter`s it constructs in a plain Python list,
    tuple or dict attribute: `self.layers = [nn.Linear(16, 16) for _ in range(n)]`,
    `self.heads = {"cls": nn.Linear(8, 3)}`, `self.scales = [nn.Parameter(torch.ones(4))]`, or a list filled
    by `append` in `__init__`.

    ## Why is this bad?
    `nn.Module` registers only what is assigned to it directly, or held in `nn.ModuleList`,
    `nn.ModuleDict`, `nn.ParameterList` or `nn.ParameterDict`. Layers in a plain list are invisible to it
    (autograd fact "layers in a plain list are not registered: not in parameters() or state_dict(), never
    updated"): they are missing from `parameters()`, so the optimizer never updates them although they get
    gradients; missing from `state_dict()`, so checkpoints do not save them; not moved by `.to(device)`,
    and not switched by `.train()`/`.eval()`. The model trains with those layers frozen at their random
    initialisation, without an error on the CPU.

    ## Example
    ```python
    class Tower(nn.Module):
        def __init__(self, depth):
            super().__init__()
            self.blocks = [nn.Linear(16, 16) for _ in range(depth)]
    ```

    ## Use instead
    ```python
    class Tower(nn.Module):
        def __init__(self, depth):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(16, 16) for _ in range(depth)])
    ```

    ## Runtime
    Silent on the CPU: those layers are never trained, saved or switched to eval mode. On a GPU,
    `model.to("cuda")` leaves them on the CPU and the forward pass raises a device mismatch.

    ## Fix safety
    Unsafe, repairing: the fix wraps the container in `nn.ModuleList` / `nn.ModuleDict` /
    `nn.ParameterList` / `nn.ParameterDict`. That is what the code meant, but it changes what the model
    is: the layers now train, and `state_dict()` gains their keys (`blocks.0.weight`, ...). A checkpoint
    saved by the old code never held those layers, so `load_state_dict(old, strict=True)` on the fixed model
    raises "Missing key(s) in state_dict: "blocks.0.weight", ..." (checked on torch 2.13), and the new
    checkpoints no longer load into the old code ("Unexpected key(s)"). Code that loads old checkpoints
    must move to `strict=False` (and the layers then start untrained, as they always were). The fix is
    offered only where the wrapper keeps working: every element is a module (or every one a parameter), a
    dict's keys are plain strings the wrapper accepts (no ".", not an attribute of `nn.ModuleDict` such as
    `"train"`), and the class uses the attribute only in ways the wrapper supports (indexing, iterating,
    `len`, `append`/`extend`/`insert`, `items()`/`keys()`/`values()`).

    Not reported: lists of things that own no parameters (sizes, hook handles, activations, dropout), a list
    of submodules registered elsewhere (`[self.fc1, self.fc2]`), a list that is then given to
    `nn.Sequential(*layers)` / `nn.ModuleList(layers)` or any other call, an attribute the class also
    assigns a real container, and classes that register modules by name (`add_module`, `register_module`,
    `register_parameter`, `setattr`), or whose subclasses in the file assign the attribute anything else.

    ## Effect
    Repairing: the layers train, move with `.to()`, switch with `.train()`/`.eval()` and are saved.
    """

    code = "GF601"
    name = "unregistered-submodule"
    message = "layers in a plain container are not registered: not in parameters() or state_dict(), never trained"
    runtime = "silent: the layers get gradients but are never trained, saved or moved by .to()"
    fix_applicability = Applicability.UNSAFE
    fix_effect = Effect.REPAIRING
    # Every layer the rule counts is spelt with one of these names somewhere (its construction, or an import).
    prefilter = re.compile(r"Parameter|Linear|Conv|Embedding|RNN|LSTM|GRU|Norm|MultiheadAttention|Transformer|PReLU")

    examples = (
        Invalid(
            "import torch.nn as nn\n\n\nclass Tower(nn.Module):\n    def __init__(self, depth):\n"
            "        super().__init__()\n        self.blocks = [nn.Linear(16, 16) for _ in range(depth)]\n\n"
            "    def forward(self, x):\n        for block in self.blocks:\n            x = block(x)\n        return x\n",
            None,
            "a list comprehension of layers",
            unsafe_after="import torch.nn as nn\n\n\nclass Tower(nn.Module):\n    def __init__(self, depth):\n"
            "        super().__init__()\n        self.blocks = nn.ModuleList([nn.Linear(16, 16) for _ in range(depth)])\n\n"
            "    def forward(self, x):\n        for block in self.blocks:\n            x = block(x)\n        return x\n",
        ),
        Invalid(
            "from torch import nn\n\n\nclass Heads(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.heads = {\"cls\": nn.Linear(8, 3), \"box\": nn.Linear(8, 4)}\n\n"
            "    def forward(self, x):\n        return {k: h(x) for k, h in self.heads.items()}\n",
            None,
            "a dict of heads",
            unsafe_after="from torch import nn\n\n\nclass Heads(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.heads = nn.ModuleDict({\"cls\": nn.Linear(8, 3), \"box\": nn.Linear(8, 4)})\n\n"
            "    def forward(self, x):\n        return {k: h(x) for k, h in self.heads.items()}\n",
        ),
        Invalid(
            "import torch\n\n\nclass Scaled(torch.nn.Module):\n    def __init__(self, n):\n        super().__init__()\n"
            "        self.scales = [torch.nn.Parameter(torch.ones(4)) for _ in range(n)]\n\n"
            "    def forward(self, x):\n        for s in self.scales:\n            x = x * s\n        return x\n",
            None,
            "a list of parameters",
            unsafe_after="import torch\n\n\nclass Scaled(torch.nn.Module):\n    def __init__(self, n):\n"
            "        super().__init__()\n        self.scales = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(4)) for _ in range(n)])\n\n"
            "    def forward(self, x):\n        for s in self.scales:\n            x = x * s\n        return x\n",
        ),
        Invalid(
            "import torch.nn as nn\n\n\nclass Stack(nn.Module):\n    def __init__(self, sizes):\n        super().__init__()\n"
            "        self.layers = []\n        for a, b in zip(sizes, sizes[1:]):\n"
            "            self.layers.append(nn.Linear(a, b))\n",
            None,
            "a list filled by append in __init__",
            unsafe_after="import torch.nn as nn\n\n\nclass Stack(nn.Module):\n    def __init__(self, sizes):\n"
            "        super().__init__()\n        self.layers = nn.ModuleList()\n        for a, b in zip(sizes, sizes[1:]):\n"
            "            self.layers.append(nn.Linear(a, b))\n",
        ),
        Invalid(
            "import torch.nn as nn\n\n\nclass Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.proj = nn.Linear(8, 8)\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        blocks = []\n        for _ in range(3):\n            block = Block()\n"
            "            blocks.append(block)\n        self.blocks = blocks\n",
            None,
            "a local list of this file's blocks, then kept as an attribute",
            unsafe_after="import torch.nn as nn\n\n\nclass Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.proj = nn.Linear(8, 8)\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        blocks = []\n        for _ in range(3):\n            block = Block()\n"
            "            blocks.append(block)\n        self.blocks = nn.ModuleList(blocks)\n",
        ),
        Invalid(
            "import torch.nn as nn\n\n\nclass Pair(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.branches = (nn.Conv2d(3, 8, 3), nn.Conv2d(3, 8, 5))\n\n"
            "    def forward(self, x):\n        return sum(b(x).mean() for b in self.branches) + len(self.branches)\n",
            None,
            "a tuple of layers",
            unsafe_after="import torch.nn as nn\n\n\nclass Pair(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.branches = nn.ModuleList((nn.Conv2d(3, 8, 3), nn.Conv2d(3, 8, 5)))\n\n"
            "    def forward(self, x):\n        return sum(b(x).mean() for b in self.branches) + len(self.branches)\n",
        ),
        Invalid(
            "import torch.nn as nn\n\n\nclass Heads(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.heads = {\"train\": nn.Linear(8, 3)}\n\n    def forward(self, x):\n"
            "        return self.heads.get(\"train\")(x)\n",
            None,
            "reported, no fix: \"train\" is no ModuleDict key, and ModuleDict has no get()",
        ),
        Valid(
            "import torch.nn as nn\n\n\nclass Tower(nn.Module):\n    def __init__(self, depth):\n        super().__init__()\n"
            "        self.blocks = nn.ModuleList([nn.Linear(16, 16) for _ in range(depth)])\n"
            "        self.heads = nn.ModuleDict({\"cls\": nn.Linear(16, 3)})\n"
            "        self.scales = nn.ParameterList([nn.Parameter(torch.ones(16))])\n",
            "nn.ModuleList, nn.ModuleDict and nn.ParameterList register what they hold",
        ),
        Valid(
            "import torch.nn as nn\n\n\nclass MLP(nn.Module):\n    def __init__(self, sizes):\n        super().__init__()\n"
            "        self.sizes = [16, 32, 4]\n        self.names = {\"in\": \"x\"}\n"
            "        self.fc = nn.Linear(sizes[0], sizes[-1])\n",
            "a list of sizes and a dict of strings",
        ),
        Valid(
            "import torch.nn as nn\n\n\nclass Probe(nn.Module):\n    def __init__(self, model):\n        super().__init__()\n"
            "        self.model = model\n        self.handles = [m.register_forward_hook(self.record) for m in model.modules()]\n\n"
            "    def record(self, module, args, output):\n        pass\n",
            "a list of hook handles",
        ),
        Valid(
            "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc1 = nn.Linear(4, 8)\n        self.fc2 = nn.Linear(8, 2)\n"
            "        self.stages = [self.fc1, self.fc2]\n\n    def forward(self, x):\n"
            "        for stage in self.stages:\n            x = stage(x)\n        return x\n",
            "a list of submodules already registered as attributes",
        ),
        Valid(
            "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self, depth):\n        super().__init__()\n"
            "        layers = []\n        for _ in range(depth):\n            layers.append(nn.Linear(8, 8))\n"
            "            layers.append(nn.ReLU())\n        self.body = nn.Sequential(*layers)\n",
            "a local list that goes into nn.Sequential(*layers)",
        ),
        Valid(
            "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        layers = [nn.Linear(8, 8) for _ in range(2)]\n        self.layers = nn.ModuleList(layers)\n",
            "a local list that goes into nn.ModuleList(layers)",
        ),
        Valid(
            "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.layers = [nn.Linear(8, 8), nn.Linear(8, 8)]\n        self.body = nn.Sequential(*self.layers)\n",
            "the list attribute also goes into an nn.Sequential, which registers the layers",
        ),
        Valid(
            "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.layers = [nn.Linear(8, 8) for _ in range(2)]\n"
            "        for i, layer in enumerate(self.layers):\n            self.add_module(f\"layer{i}\", layer)\n",
            "the class registers the layers by name with add_module",
        ),
        Valid(
            "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.acts = [nn.ReLU(), nn.Tanh()]\n        self.pools = (nn.MaxPool2d(2), nn.AvgPool2d(2))\n",
            "layers that own no parameters (activations, pooling)",
        ),
        Valid(
            "import torch.nn as nn\n\n\nclass Config:\n    def __init__(self):\n        self.layers = [nn.Linear(8, 8)]\n",
            "not an nn.Module: a plain object may hold layers as it likes",
        ),
        Valid(
            "import torch.nn as nn\nfrom mylib import Encoder\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.encoders = [Encoder() for _ in range(2)]\n",
            "an imported class the file does not show to be a module with parameters",
        ),
        Valid(
            "import torch.nn as nn\n\n\nclass Base(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.layers = [nn.Linear(8, 8) for _ in range(2)]\n\n\nclass Net(Base):\n"
            "    def __init__(self):\n        super().__init__()\n        self.layers = nn.ModuleList(self.layers)\n",
            "a subclass wraps the base class's list in nn.ModuleList",
        ),
        Valid(
            "import copy\nimport torch.nn as nn\n\n\nclass EMA(nn.Module):\n    def __init__(self, model):\n"
            "        super().__init__()\n        self.shadow = [copy.deepcopy(model)]\n",
            "a copy of a model passed in, hidden from parameters() on purpose",
        ),
    )

    scenarios = (Scenario("tower-blocks-in-a-list", _SCENARIO),)

    def check(self, model: SemanticModel) -> None:
        index = _SelfAssignments(model)
        for cls in index.candidates():
            if not model.is_module_class_def(cls) or index.registers_by_name(cls):
                continue
            for holder in _holders(model, cls, index):
                fresh = [e for e in holder.elements if _fresh_element(model, e, holder)]
                if not fresh:
                    continue
                value, _ = holder.assigns[0]
                kinds = {model.value(e).kind for e in fresh}
                what = "Parameters" if kinds == {Kind.PARAMETER} else "layers"
                shape = "dict" if isinstance(value, (ast.Dict, ast.DictComp)) else (
                    "tuple" if isinstance(value, ast.Tuple) else "list")
                wrapper = _wrapper(model, holder)
                message = (
                    f"`self.{holder.attr}` holds {what} in a plain {shape}: they are not registered (missing from "
                    f"parameters() and state_dict(), not moved by .to()), so the optimizer never trains them"
                )
                if wrapper is None:
                    self.report(value, message)
                else:
                    self.report(value, message + f"; use nn.{wrapper}", fix=Applicability.UNSAFE, data=wrapper)

    def fix(self, finding, tree) -> Fix | None:
        node = tree.node_at(finding.range)
        if isinstance(node, (cst.Assign, cst.AnnAssign)):
            node = node.value  # a parenthesised tuple: LibCST's range for it leaves the parentheses out
        if not isinstance(node, cst.BaseExpression):
            return None
        imports = Imports.of(tree.module, tree.context.cache)
        func, request = module_name(imports, scope_chain(node, tree.parent), finding.data)
        empty = isinstance(node, (cst.List, cst.Dict)) and not node.elements
        args = [] if empty else [cst.Arg(node)]
        wrapped = cst.Call(func, args)
        imports_needed: tuple[AddImport, ...] = (request,) if request else ()
        return Fix((Edit(node, wrapped),), Applicability.UNSAFE, Effect.REPAIRING, imports_needed)


def _body_nodes(function: ast.AST):
    """Every node of a function's body, except the insides of nested functions, classes and lambdas."""
    for statement in function.body:
        yield from own_nodes(statement)


class _SelfAssignments:
    """Per file, from the model's index of nodes (no walk of its own): every `self.X = value` in a method, by class,
    and the classes that register modules by name. Only the classes that assign a plain container are looked at."""

    def __init__(self, model: SemanticModel):
        self.model = model
        self.by_class: dict[int, list[tuple[str, ast.AST | None, ast.AST, ast.AST]]] = {}  # (attr, value, method, stmt)
        self.classes: dict[int, ast.ClassDef] = {}
        for node in model.nodes(ast.Assign, ast.AnnAssign, ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)):
                    continue
                method = model.function(node)
                cls = model.enclosing_class(method) if method is not None else None
                if cls is None or self_name(method) != target.value.id:
                    continue
                value = None if isinstance(node, ast.AugAssign) or len(targets) != 1 else node.value
                self.by_class.setdefault(id(cls), []).append((target.attr, value, method, node))
                self.classes[id(cls)] = cls
        self._registering: set[int] | None = None

    def candidates(self) -> list[ast.ClassDef]:
        model = self.model
        found = []
        for key, entries in self.by_class.items():
            if any(v is not None and (isinstance(v, _PLAIN) or _is_empty_call(model, v) or _local_list(model, v)
                                      is not None) for _, v, _, _ in entries):
                found.append(self.classes[key])
        return found

    def registers_by_name(self, cls: ast.ClassDef) -> bool:
        """The class calls add_module / register_module / register_parameter / register_buffer, or setattr."""
        if self._registering is None:
            self._registering = set()
            calls = list(self.model.calls_to_method(*REGISTERING_METHODS)) + [
                c for c in self.model.nodes(ast.Call) if isinstance(c.func, ast.Name) and c.func.id == "setattr"]
            for call in calls:
                self._registering |= {id(a) for a in self.model.ancestors(call) if isinstance(a, ast.ClassDef)}
        return id(cls) in self._registering


_PLAIN = (ast.List, ast.Tuple, ast.Dict, ast.ListComp, ast.DictComp)


def _elements_of(value: ast.AST) -> tuple[list[ast.AST], list[ast.AST | None]]:
    """The element expressions a plain container literal or comprehension holds, with a dict's keys."""
    if isinstance(value, (ast.List, ast.Tuple)):
        elements = [e for e in value.elts if not isinstance(e, ast.Starred)]
        return elements, [None] * len(elements)
    if isinstance(value, ast.ListComp):
        return [value.elt], [None]
    if isinstance(value, ast.Dict):
        pairs = [(k, v) for k, v in zip(value.keys, value.values) if k is not None]
        return [v for _, v in pairs], [k for k, _ in pairs]
    if isinstance(value, ast.DictComp):
        return [value.value], [None]
    return [], []


def _is_empty_call(model: SemanticModel, value: ast.AST) -> bool:
    return (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in ("list", "dict")
            and not value.args and not value.keywords and model.bindings_reaching(value.func.id, value) is None)


def _family(model: SemanticModel, cls: ast.ClassDef) -> list[ast.ClassDef]:
    """The class and the classes of this file derived from it (a subclass may wrap what its base keeps in a list)."""
    def derives(other: ast.ClassDef, depth: int = 0) -> bool:
        for base in other.bases:
            local = model.local_class(base)
            if local is cls or (local is not None and local is not other and depth < 5 and derives(local, depth + 1)):
                return True
        return False

    return [cls, *(c for c in model.nodes(ast.ClassDef) if c is not cls and derives(c))]


def _holders(model: SemanticModel, cls: ast.ClassDef, index: _SelfAssignments) -> list[_Holder]:
    """Every `self.X` of the class that is only ever assigned plain containers, with what they hold."""
    assigned: dict[str, list[tuple[ast.AST, ast.AST]]] = {}
    other: set[str] = set()
    for member in _family(model, cls)[1:]:
        for attr, value, _method, _node in index.by_class.get(id(member), ()):
            if value is None or not isinstance(value, _PLAIN):
                other.add(attr)  # a subclass assigns it something else (`nn.ModuleList(self.layers)`)
    for attr, value, method, node in index.by_class.get(id(cls), ()):
        if isinstance(node, ast.AnnAssign) and node.value is None:
            continue
        if isinstance(value, ast.Constant) and value.value is None:
            continue  # `self.layers = None` first: what counts is what it is given later
        if value is None or not (isinstance(value, _PLAIN) or _is_empty_call(model, value)
                                 or _local_list(model, value) is not None):
            other.add(attr)
        else:
            assigned.setdefault(attr, []).append((value, method))
    holders = []
    for attr, assigns in assigned.items():
        if attr in other:
            continue  # also assigned a real container (`self.layers = nn.ModuleList(self.layers)`) or something else
        holder = _Holder(attr, assigns, [], [], set())
        for value, _method in assigns:
            local = _local_list(model, value)
            if local is not None:
                if _gathered_from_local(model, holder, value, local) is False:
                    holder = None
                    break
            else:
                elements, keys = _elements_of(value)
                holder.elements += elements
                holder.keys += keys
        if holder is not None and _uses(model, cls, holder):
            holders.append(holder)
    return holders


def _local_list(model: SemanticModel, value: ast.AST) -> ast.AST | None:
    """For `self.X = name`: the plain container literal `name` was bound to, once, in the same function."""
    if not isinstance(value, ast.Name):
        return None
    bindings = model.bindings_reaching(value.id, value) or []
    if len(bindings) != 1 or bindings[0].kind not in ("assign", "ann") or bindings[0].path:
        return None
    bound = bindings[0].value
    if bound is not None and (isinstance(bound, _PLAIN) or _is_empty_call(model, bound)):
        return bound
    return None


def _gathered_from_local(model: SemanticModel, holder: _Holder, value: ast.Name, bound: ast.AST) -> bool:
    """Add what a local list holds (its literal and what is appended to it) to `holder`; False when the local
    list also goes elsewhere (`nn.Sequential(*layers)`), which may register its layers."""
    function = model.function(value)
    elements, keys = _elements_of(bound)
    at = (value.lineno, value.col_offset)
    for node in model.nodes(ast.Name):
        if node.id != value.id or node is value or model.function(node) is not function:
            continue
        if not isinstance(node.ctx, ast.Load):
            continue
        parent = model.parent(node)
        if isinstance(parent, ast.Attribute) and parent.attr in _ADDERS:
            call = model.parent(parent)
            if isinstance(call, ast.Call) and call.func is parent:
                elements += _added(call)
                keys += [None] * len(_added(call))
                if (call.lineno, call.col_offset) > at:
                    holder.local_mutated_late = True
                continue
        if isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Store):
            assign = model.parent(parent)
            if isinstance(assign, ast.Assign):
                elements.append(assign.value)
                keys.append(parent.slice)
                if (assign.lineno, assign.col_offset) > at:
                    holder.local_mutated_late = True
                continue
        if _reads_only(model, node):
            continue
        return False  # passed to a call, aliased, returned: its layers may be registered through it
    holder.elements += elements
    holder.keys += keys
    return True


def _added(call: ast.Call) -> list[ast.AST]:
    method = call.func.attr
    if method == "append" and len(call.args) == 1:
        return [call.args[0]]
    if method == "insert" and len(call.args) == 2:
        return [call.args[1]]
    if method == "extend" and len(call.args) == 1:
        return _elements_of(call.args[0])[0]
    return []


def _reads_only(model: SemanticModel, node: ast.AST) -> bool:
    """A use of a container that reads it without handing it on: indexing, iterating, `len()`, `in`."""
    parent = model.parent(node)
    if isinstance(parent, ast.Subscript) and parent.value is node:
        return True
    if isinstance(parent, (ast.For, ast.AsyncFor, ast.comprehension)) and parent.iter is node:
        return True
    if isinstance(parent, ast.Compare) and node in parent.comparators:
        return True
    if isinstance(parent, ast.Call) and node in parent.args and isinstance(parent.func, ast.Name) \
            and parent.func.id in _READERS and model.bindings_reaching(parent.func.id, parent) is None:
        return True
    if isinstance(parent, ast.Attribute) and parent.attr in ("items", "keys", "values", "index", "count"):
        return True
    return False


def _uses(model: SemanticModel, cls: ast.ClassDef, holder: _Holder) -> bool:
    """Collect what the class does with `self.X`; False when the container is handed on (a call argument, an
    alias, a return value), since whatever receives it may register the layers."""
    for method in cls.body:
        me = self_name(method)
        if me is None:
            continue
        for node in _body_nodes(method):
            if not (isinstance(node, ast.Attribute) and node.attr == holder.attr and isinstance(node.value, ast.Name)
                    and node.value.id == me and isinstance(node.ctx, ast.Load)):
                continue
            parent = model.parent(node)
            if isinstance(parent, ast.Attribute) and parent.value is node:
                call = model.parent(parent)
                if isinstance(call, ast.Call) and call.func is parent:
                    holder.methods.add(parent.attr)
                    if parent.attr in _ADDERS:
                        holder.elements += _added(call)
                        holder.keys += [None] * len(_added(call))
                    continue
                holder.other_use = True
                continue
            if isinstance(parent, ast.Subscript) and parent.value is node:
                if isinstance(parent.ctx, ast.Store):
                    assign = model.parent(parent)
                    if isinstance(assign, ast.Assign):
                        holder.elements.append(assign.value)
                        holder.keys.append(parent.slice)
                continue
            if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "isinstance":
                holder.other_use = True  # `isinstance(self.layers, list)` is False once wrapped
                continue
            if _reads_only(model, node):
                continue
            if isinstance(parent, (ast.Call, ast.Starred, ast.Assign, ast.AnnAssign, ast.Return, ast.keyword,
                                   ast.List, ast.Tuple, ast.Dict, ast.Yield, ast.NamedExpr, ast.Lambda)):
                return False
            holder.other_use = True
    return True


def _fresh_element(model: SemanticModel, element: ast.AST, holder: _Holder) -> bool:
    """The element constructs a layer with parameters (or a Parameter) that nothing else in its function
    registers: a construction in place, or a local name bound only to constructions and used for nothing else."""
    if fresh_state(model, element) is not None:
        return True
    if not isinstance(element, ast.Name):
        return False
    bindings = model.bindings_reaching(element.id, element) or []
    if not bindings or any(b.kind not in ("assign", "ann") or b.path or b.value is None
                           or fresh_state(model, b.value) is None for b in bindings):
        return False
    function = model.function(element)
    for node in model.nodes(ast.Name):
        if node.id != element.id or node is element or model.function(node) is not function:
            continue
        if not isinstance(node.ctx, ast.Load):
            continue
        parent = model.parent(node)
        if isinstance(parent, ast.Call) and parent.func is node:
            continue  # called: `block(x)`
        if isinstance(parent, ast.Attribute) and parent.value is node:
            continue  # `block.weight`, `block.to(device)`
        if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and parent.func.attr in _ADDERS:
            continue  # appended to a list (this one, or another the rule checks on its own)
        return False  # handed to a call, assigned to an attribute, ...: it may be registered there
    return True


def _wrapper(model: SemanticModel, holder: _Holder) -> str | None:
    """The registered container that can replace the plain one without breaking the class, or None."""
    if len(holder.assigns) != 1 or holder.other_use or holder.local_mutated_late:
        return None
    value, _ = holder.assigns[0]
    kinds = {model.value(e).kind for e in holder.elements}
    if kinds == {Kind.MODULE}:
        family = "Module"
    elif kinds == {Kind.PARAMETER}:
        family = "Parameter"
    else:
        return None
    local = _local_list(model, value)
    container = local if local is not None else value
    if isinstance(container, (ast.Dict, ast.DictComp)) or (
            isinstance(container, ast.Call) and container.func.id == "dict"):
        if isinstance(container, ast.DictComp) or not all(_good_key(k) for k in holder.keys):
            return None
        wrapper = f"{family}Dict"
    else:
        if isinstance(container, ast.Tuple) and holder.methods & _ADDERS:
            return None
        wrapper = f"{family}List"
    if not holder.methods <= _SUPPORTED[wrapper]:
        return None
    return wrapper


def _good_key(key: ast.AST | None) -> bool:
    return (isinstance(key, ast.Constant) and isinstance(key.value, str) and bool(_VALID_KEY.match(key.value))
            and key.value not in RESERVED_KEYS)
