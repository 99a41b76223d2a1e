"""What torch's functions, methods and classes are, as far as the model needs to know: names, namespaces, bases.

Checked against torch 2.13 (see shared/autograd_facts.py). What torch's own metadata can tell (which functions
are factories, which methods return no tensor or a list of tensors) comes from the generated torch table
(`torch_ops`); the rest here is judgement, each with its reason.
"""
from __future__ import annotations

import re

from autofix.semantic.lattice import A_MODULE, DATA_OBJECT, PARAMETER, PLAIN_TENSOR, Grad, Kind, Value, container, pair
from autofix.semantic.torch_ops import factories, module_parameters, non_tensor_members, tensor_list_methods

# Functions that create a fresh tensor from shapes or Python data: a leaf, requiring grad only when asked. The
# table's factories (their schema takes the tensor options: zeros, arange, tensor, zeros_like, windows, ...),
# and by hand: from_numpy and as_tensor, which wrap numpy or Python data (from_numpy has no schema; as_tensor's
# takes no layout), and bernoulli, multinomial and poisson, which sample from a tensor of rates: torch gives
# bernoulli and poisson a grad_fn, but its gradient is zero everywhere, so for the rules the samples are data.
FACTORIES = factories() | frozenset({"from_numpy", "as_tensor", "bernoulli", "multinomial", "poisson"})
# Calls whose result is data whatever they are given (they re-wrap values: a tensor argument's graph is cut).
REWRAPS = frozenset({"tensor", "from_numpy"})  # as_tensor and Tensor(t) keep the graph (torch 2.13)
# torch.* functions that do not return tensors.
_TORCH_NOT_TENSOR = frozenset(
    "is_tensor is_grad_enabled is_floating_point is_complex numel device dtype get_default_dtype manual_seed "
    "set_grad_enabled no_grad enable_grad inference_mode set_default_dtype set_printoptions save load compile "
    "Generator Size finfo iinfo typename is_inference_mode_enabled use_deterministic_algorithms seed "
    "initial_seed get_rng_state set_rng_state is_nonzero result_type promote_types can_cast".split()
)
# torch namespaces whose functions return tensors computed from their tensor arguments.
_TENSOR_NAMESPACES = ("torch.nn.functional.", "torch.linalg.", "torch.fft.", "torch.special.")
_TORCH_OTHER_NAMESPACES = re.compile(
    r"^torch\.(cuda|distributed|utils|jit|onnx|backends|autograd|hub|profiler|fx|export|testing|multiprocessing"
    r"|package|quantization|ao|amp|cpu|mps|xpu|library|overrides|compiler|sparse|nested|masked|distributions"
    r"|optim|nn)\b"
)
# Tensor methods and properties that return something other than a tensor (torch table: `size`, `item`,
# `is_contiguous`, `backward`; `shape`, `dtype`, `is_leaf`, `grad_fn`), and `len(x)`, which the table, made
# of public names, does not list.
_NOT_TENSOR_METHODS = non_tensor_members(properties=False) | {"__len__"}
_NOT_TENSOR_ATTRIBUTES = non_tensor_members(properties=True)
# Tensor methods that return a list of tensors (torch table: split, chunk, unbind, tensor_split, hsplit, ...).
_CONTAINER_METHODS = tensor_list_methods()
# Methods that return their receiver moved or converted (a new non-leaf when the receiver requires grad).
MOVERS = frozenset({"to", "cuda", "cpu", "double", "float", "half", "bfloat16", "type"})
# Module methods that return the module itself.
_MODULE_SELF_METHODS = MOVERS | {"train", "eval", "requires_grad_", "zero_grad", "apply", "share_memory", "to_empty"}
# nn modules without a `weight` parameter (so `m.weight` on one is not a parameter).
_NN_WITHOUT_WEIGHT = re.compile(
    r"^torch\.nn\.(ReLU|ReLU6|SiLU|GELU|Sigmoid|Tanh|Softmax|LogSoftmax|Dropout\w*|Identity|Flatten|Unflatten"
    r"|Sequential|ModuleList|ModuleDict|ParameterList|ParameterDict|\w*Pool\w*|Upsample\w*|LeakyReLU|ELU|SELU|CELU"
    r"|Hardtanh|Hardswish|Hardsigmoid|Mish|Softplus|Softsign|Tanhshrink|Threshold|GLU|PixelShuffle|PixelUnshuffle"
    r"|ZeroPad\w*|ConstantPad\w*|ReflectionPad\w*|ReplicationPad\w*|CosineSimilarity|PairwiseDistance"
    r"|\w*Loss)$"
)
_OPTIMIZER = re.compile(r"^torch\.optim\.(\w+\.)?[A-Z]\w*$")
_SCHEDULER = re.compile(r"^torch\.optim\.lr_scheduler\.[A-Z]\w*$")
_TENSOR_TYPES = frozenset({"torch.Tensor", "torch.FloatTensor", "torch.LongTensor", "torch.autograd.Variable"})
_PARAMETER_TYPES = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter", "torch.nn.UninitializedParameter",
                              "torch.nn.parameter.UninitializedParameter"})
# Buffers a lazy module fills on its first call: tensors that never require grad.
_BUFFER_TYPES = frozenset({"torch.nn.UninitializedBuffer", "torch.nn.parameter.UninitializedBuffer"})
# Reparametrisations that return the module they are given, with new parameters on it (torch.nn.utils docs):
# weight_norm adds `weight_g` and `weight_v`; spectral_norm adds `weight_orig`.
_REPARAMETRISED = {
    "torch.nn.utils.weight_norm": ("weight_g", "weight_v"),
    "torch.nn.utils.weight_norm.weight_norm": ("weight_g", "weight_v"),
    "torch.nn.utils.spectral_norm": ("weight_orig",),
    "torch.nn.utils.spectral_norm.spectral_norm": ("weight_orig",),
}
_MODULE_BASE = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module"}) | frozenset(
    # LightningModule subclasses nn.Module (added for the GF2xx port: `self(x)` in a training_step is a forward).
    {"pytorch_lightning.LightningModule", "lightning.LightningModule", "lightning.pytorch.LightningModule",
     "pytorch_lightning.core.LightningModule", "pytorch_lightning.core.module.LightningModule",
     "lightning.pytorch.core.LightningModule", "lightning.pytorch.core.module.LightningModule"}
)
_FUNCTION_BASE = frozenset({"torch.autograd.Function", "torch.autograd.function.Function"})
_OPTIMIZER_BASE = frozenset({"torch.optim.Optimizer", "torch.optim.optimizer.Optimizer"})
# Module containers that hold their submodules in order: indexing and iterating them yields those submodules.
_MODULE_MAPPINGS = frozenset({"torch.nn.ModuleDict", "torch.nn.modules.container.ModuleDict"})
_PARAMETER_CONTAINERS = frozenset({"torch.nn.ParameterList", "torch.nn.ParameterDict",
                                   "torch.nn.modules.container.ParameterList", "torch.nn.modules.container.ParameterDict"})
# What nn.Module's walks yield (torch.nn.Module docs): parameters are Parameters; buffers are tensors that never
# required grad; submodules are modules; `state_dict()` maps names to detached tensors sharing the storage.
_MODULE_WALKS = {
    "parameters": container(PARAMETER),
    "named_parameters": container(pair(DATA_OBJECT, PARAMETER)),
    "buffers": container(PLAIN_TENSOR),
    "named_buffers": container(pair(DATA_OBJECT, PLAIN_TENSOR)),
    "modules": container(A_MODULE),
    "children": container(A_MODULE),
    "named_modules": container(pair(DATA_OBJECT, A_MODULE)),
    "named_children": container(pair(DATA_OBJECT, A_MODULE)),
    "state_dict": container(DATA_OBJECT, mapped=PLAIN_TENSOR),
}
# One of `optimizer.param_groups`: a dict whose "params" entry lists the parameters it updates.
_PARAM_GROUP = Value(Kind.CONTAINER, Grad.DATA, origin="param_group")
_MODULE_SEQUENCES = frozenset({"torch.nn.Sequential", "torch.nn.ModuleList", "torch.nn.modules.container.Sequential",
                               "torch.nn.modules.container.ModuleList"})
_CONTAINER_TYPES = re.compile(
    r"^(typing\.)?(list|List|tuple|Tuple|dict|Dict|set|Set|frozenset|FrozenSet|Sequence|MutableSequence|Mapping"
    r"|MutableMapping|Iterable|Iterator|collections\.abc\.\w+|torch\.nn\.(ModuleList|ModuleDict|ParameterList"
    r"|ParameterDict))$"
)
_OPTIONAL = re.compile(r"^(typing\.)?(Optional|Union)$")
_BUILTIN_DATA = frozenset({"int", "float", "str", "bool", "bytes", "complex", "None"})


def is_optimizer_class(qualified: str | None) -> bool:
    return bool(qualified) and bool(_OPTIMIZER.match(qualified)) and "lr_scheduler" not in qualified


def is_module_class(qualified: str | None) -> bool:
    """A torch.nn module class (`torch.nn.Linear`), spelled through any public path."""
    return bool(qualified) and bool(re.match(r"^torch\.nn\.(modules\.\w+\.)?[A-Z]\w*$", qualified)) and (
        qualified not in _PARAMETER_TYPES
    )


def is_module_base(qualified: str) -> bool:
    """A base class that makes its subclasses nn.Modules (torch.nn.Module, a torch.nn layer, LightningModule)."""
    return qualified in _MODULE_BASE or is_module_class(qualified)


def is_optimizer_base(qualified: str) -> bool:
    return qualified in _OPTIMIZER_BASE


def torch_instance(qualified: str) -> Value | None:
    """What calling the torch class `qualified` makes (a Parameter, a layer, an optimizer), or None."""
    if qualified in _PARAMETER_TYPES:
        return PARAMETER
    if qualified in _BUFFER_TYPES:
        return PLAIN_TENSOR
    if is_module_base(qualified):
        return Value(Kind.MODULE, Grad.DATA, cls=qualified)
    if is_optimizer_class(qualified):
        return Value(Kind.OPTIMIZER, Grad.DATA, cls=qualified)
    return None


def layer_slot(cls: str | None, attribute: str) -> Value | None:
    """What `attribute` of an instance of the torch.nn class `cls` holds, by torch's own table: a parameter for
    one of the class's parameter slots (`weight` of nn.Linear, `in_proj_weight` of nn.MultiheadAttention);
    None when the table does not list it (buffers are recorded there too, but are not claimed here yet)."""
    parameters = module_parameters(cls)
    if parameters is not None and attribute in parameters:
        return PARAMETER
    return None
