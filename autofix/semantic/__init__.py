"""The semantic model: what each name and expression of a file holds, asked as the rules ask it.

One job per module:

- `lattice`: the values (`Kind` x `Grad`) and their join;
- `torch_knowledge`: what torch's names are (factories, movers, module and optimizer classes);
- `torch_ops`: what torch says each op does (view, in-place, saves its output, differentiable), queried on
  the table that tools/torch_table.py generates from torch;
- `syntax`: questions about syntax alone (dotted names, keywords, constants);
- `scopes`: the one walk, scopes, bindings, imports and positions;
- `inference`: `SemanticModel`, what an expression holds;
- `training_step`: `TrainingSteps`, what a training step does per optimizer, in execution order;
- `index`: the project index, what other files of the project (and the installed libraries) define;
- `layers`: what torch's layers hold, through the parameter slots of the torch table;
- `installed`: where the environment's packages live, for the index to read with `ast`;
- `callers`: the reverse call index, what the project's other files pass to a function.

Rules import only the names below. docs/semantic-model.md explains the lattice, the index and how a rule asks.
"""
from autofix.semantic import torch_ops
from autofix.semantic.inference import SemanticModel
from autofix.semantic.lattice import (
    DATA_OBJECT,
    NONE,
    REQUIRES_GRAD,
    TENSOR_KINDS,
    UNKNOWN,
    Grad,
    Kind,
    Value,
    join,
)
from autofix.semantic.scopes import FUNCTIONS, Binding, Range, Scope
from autofix.semantic.syntax import dotted, is_false, is_true, keyword
from autofix.semantic.syntax import own_nodes as walk_own_nodes
from autofix.semantic.torch_knowledge import (
    FACTORIES,
    MOVERS,
    REWRAPS,
    is_module_class,
    is_optimizer_class,
)
from autofix.semantic.training_step import Event, Reach, Trace, TrainingSteps

__all__ = [
    "DATA_OBJECT", "FACTORIES", "FUNCTIONS", "MOVERS", "NONE", "REQUIRES_GRAD", "REWRAPS", "TENSOR_KINDS", "UNKNOWN",
    "Binding", "Event", "Grad", "Kind", "Range", "Reach", "Scope", "SemanticModel", "Trace", "TrainingSteps", "Value",
    "dotted", "walk_own_nodes", "is_false", "is_module_class", "is_optimizer_class", "is_true", "join", "keyword", "torch_ops",
]
