"""Runs one training script, unmodified, under observation, and writes what happened as JSON.

The harness calls `run` in a process of its own (see launch.py); by hand:

    python -m autofix.harness.probe --out result.json [--max-steps N] [--device cpu|cuda] script.py [args...]

Needs no change to the script. Torch's global hooks see every parameter registered on any module,
every optimizer step and every backward call:
- per parameter (by name): each gradient's norm and the backward call it came from, optimizer
  membership, the norm of its value and whether (bitwise) and how far it moved from it
  (taken at the first backward call), and a fingerprint of its final value;
- the loss at each backward call, torch warnings, inputs mutated by a module's forward, and the exception
  (type, message, the script's line) if the script raised;
- each gradient clip (`torch.nn.utils.clip_grad_norm_`/`clip_grad_value_`): the norm it measured, whether an
  optimizer step used the gradients it clipped, and the GradScaler scale they still carried, if any;
- losses that apply an activation themselves given a tensor that already went through it (`cross_entropy` of a
  softmax, `binary_cross_entropy_with_logits` of a sigmoid, read from the input's autograd graph), and
  functional dropouts that dropped inside a module in eval() mode;
- per Dropout and BatchNorm layer that gradients flowed through: at which backward calls it was in training
  mode and at which in eval mode (a model left in eval mode by a validation pass trains differently);
- Dropout and BatchNorm forwards run in training mode with autograd off (an evaluation pass under `no_grad` that
  never called `eval()`);
- a parameter of a layer that was replaced (registered once, no longer reachable from any model, and given to
  no optimizer) is left out: nothing in the program can train it any more;
- the run stops after `--max-steps` optimizer steps.
Only the function bodies import torch; the rewriting commands never import it.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import inspect
import json
import math
import os
import runpy
import sys
import traceback
import warnings


# Autograd nodes that only reshape, copy or convert: an activation behind them still produced the values.
_SHAPE_ONLY_NODES = ("ViewBackward", "ReshapeAliasBackward", "UnsafeViewBackward", "PermuteBackward",
                     "TransposeBackward", "TBackward", "SqueezeBackward", "UnsqueezeBackward", "CloneBackward",
                     "ToCopyBackward", "ExpandBackward", "AliasBackward")
# Loss functions of torch.nn.functional that apply an activation to their input, and the autograd node of that
# activation (what the input's graph ends in when it was applied twice).
ACTIVATING_LOSSES = {"cross_entropy": "SoftmaxBackward", "binary_cross_entropy_with_logits": "SigmoidBackward"}
# Functional dropouts whose `training` argument defaults to True.
DROPOUTS = ("dropout", "dropout1d", "dropout2d", "dropout3d")


class StopTraining(BaseException):
    """Raised from the optimizer-step hook after enough steps; a BaseException so `except Exception` passes it."""


def configure_determinism(device: str) -> None:
    if device == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import torch

    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    if device == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


class Observer:
    def __init__(self, max_steps: int | None):
        import torch

        self.torch = torch
        self.max_steps = max_steps
        self.steps = 0
        self.backward_calls = 0
        self.losses: list[float] = []
        self.params: dict[int, dict] = {}  # id(param) -> record
        self.tensors: dict[int, object] = {}  # id(param) -> param (kept alive for the final report)
        self.modules: list = []
        self.children: set[int] = set()
        self.optimized: set[int] = set()
        self.mutated_inputs = 0
        self.input_clones: list = []
        self.started = False
        self.step_events: list[int] = []  # the backward-call count at each optimizer step (or skipped AMP step)
        self.clips: list[dict] = []
        self.optimizers: list = []
        self.scalers: list = []
        self.double_activations = {name: 0 for name in ACTIVATING_LOSSES}
        self.eval_dropouts = 0
        self.transposing_views = 0
        self.not_log_probabilities = 0  # nll_loss inputs whose rows are not log-probabilities
        self.no_grad_train_forwards = 0  # Dropout/BatchNorm forwards in training mode with autograd off
        self.running: list = []  # the modules whose forward is running, innermost last
        self.owners: dict[int, object] = {}  # id(param) -> the module it was registered on
        self.mode_layers: dict[int, dict] = {}  # id(Dropout/BatchNorm layer) -> {"train": {calls}, "eval": {calls}}
        self.plain_names: dict[int, str] = {}  # id(tensor) -> `Class.attr` of a trainable tensor kept unregistered

    # --- installation -----------------------------------------------------------------------------
    def install(self) -> None:
        torch = self.torch
        from torch.nn.modules import module as module_hooks
        from torch.optim import optimizer as optimizer_hooks

        module_hooks.register_module_parameter_registration_hook(self._on_parameter)
        module_hooks.register_module_module_registration_hook(self._on_submodule)
        module_hooks.register_module_forward_pre_hook(self._before_forward)
        module_hooks.register_module_forward_hook(self._after_forward)
        module_hooks.register_module_forward_hook(self._watch_mode)
        optimizer_hooks.register_optimizer_step_post_hook(self._after_step)
        module_hooks.register_module_forward_pre_hook(self._enter)
        module_hooks.register_module_forward_hook(self._leave, always_call=True)

        original_init = torch.optim.Optimizer.__init__
        observer = self

        def init(optimizer, params, *args, **kwargs):
            original_init(optimizer, params, *args, **kwargs)
            observer.optimizers.append(optimizer)
            for group in optimizer.param_groups:
                for p in group["params"]:
                    observer.optimized.add(id(p))
                    observer._track(p, None)

        torch.optim.Optimizer.__init__ = init

        # A Parameter the script creates but never registers (`nn.Parameter(t).double()` keeps only the
        # converted copy) is still a tensor the script meant to train: track it from its creation.
        original_new = torch.nn.Parameter.__new__

        def new(cls, *args, **kwargs):
            param = original_new(cls, *args, **kwargs)
            observer._track(param, None)
            return param

        torch.nn.Parameter.__new__ = new

        original_backward = torch.Tensor.backward

        def backward(tensor, *args, **kwargs):
            observer._before_backward(tensor)
            return original_backward(tensor, *args, **kwargs)

        torch.Tensor.backward = backward
        self._install_clipping()
        self._install_losses()
        self._install_views()

    def _install_clipping(self) -> None:
        """Gradient clipping is seen where scripts call it (`torch.nn.utils.clip_grad_norm_`, imported by name or
        not), and a GradScaler's scaled gradients and skipped steps where it keeps them."""
        from torch.amp.grad_scaler import GradScaler
        from torch.nn import utils as nn_utils
        from torch.nn.utils import clip_grad

        observer = self
        for name in ("clip_grad_norm_", "clip_grad_value_"):
            original = getattr(clip_grad, name)

            def clipped(parameters, *args, _original=original, **kwargs):
                tensors = [parameters] if isinstance(parameters, observer.torch.Tensor) else list(parameters)
                observer._on_clip(tensors)
                return _original(tensors, *args, **kwargs)

            clipped = functools.wraps(original)(clipped)
            setattr(clip_grad, name, clipped)  # `clip_grad_norm` (deprecated) calls this module's global
            setattr(nn_utils, name, clipped)

        original_scaler_init, original_scaler_step = GradScaler.__init__, GradScaler.step

        def scaler_init(scaler, *args, **kwargs):
            original_scaler_init(scaler, *args, **kwargs)
            observer.scalers.append(scaler)

        def scaler_step(scaler, optimizer, *args, **kwargs):
            steps = observer.steps
            try:
                return original_scaler_step(scaler, optimizer, *args, **kwargs)
            finally:
                if observer.steps == steps:  # skipped for inf/NaN gradients: still the end of an iteration
                    observer.step_events.append(observer.backward_calls)

        GradScaler.__init__, GradScaler.step = scaler_init, scaler_step

    def _install_losses(self) -> None:
        functional = self.torch.nn.functional
        observer = self
        for name, node in ACTIVATING_LOSSES.items():
            original = getattr(functional, name)

            def loss(*args, _original=original, _name=name, _node=node, **kwargs):
                given = args[0] if args else kwargs.get("input")
                if observer._made_by(given, _node):
                    observer.double_activations[_name] += 1
                return _original(*args, **kwargs)

            setattr(functional, name, functools.wraps(original)(loss))
        original_nll = functional.nll_loss

        def nll_loss(*args, _original=original_nll, **kwargs):
            given = args[0] if args else kwargs.get("input")
            if isinstance(given, observer.torch.Tensor) and given.dim() == 2 and given.is_floating_point():
                # Log-probabilities over the classes: each row's logsumexp is 0.
                rows = observer.torch.logsumexp(given.detach().double(), dim=1)
                if float(rows.abs().max()) > 1e-3:
                    observer.not_log_probabilities += 1
            return _original(*args, **kwargs)

        functional.nll_loss = functools.wraps(original_nll)(nll_loss)
        for name in DROPOUTS:
            original = getattr(functional, name)
            signature = inspect.signature(original)

            def dropout(*args, _original=original, _signature=signature, **kwargs):
                bound = _signature.bind(*args, **kwargs)
                bound.apply_defaults()
                if bound.arguments["training"] and bound.arguments["p"] > 0 and observer.running and not (
                    observer.running[-1].training
                ):
                    observer.eval_dropouts += 1
                return _original(*args, **kwargs)

            setattr(functional, name, functools.wraps(original)(dropout))

    def _install_views(self) -> None:
        """`view`/`reshape` asked for the shape of a transpose of the tensor (the same sizes, all distinct, in
        another order): the elements stay in memory order, so they are scrambled into that shape."""
        torch = self.torch
        observer = self
        for name in ("view", "reshape"):
            original = getattr(torch.Tensor, name)

            def reshaped(tensor, *args, _original=original, **kwargs):
                result = _original(tensor, *args, **kwargs)
                if isinstance(result, torch.Tensor):
                    old, new = tuple(tensor.shape), tuple(result.shape)
                    if new != old and sorted(new) == sorted(old) and len(set(old)) == len(old) > 1:
                        observer.transposing_views += 1
                return result

            setattr(torch.Tensor, name, functools.wraps(original)(reshaped))

    # --- hooks --------------------------------------------------------------------------------------
    def _on_parameter(self, module, name, param):
        if param is not None:
            if not any(m is module for m in self.modules):
                self.modules.append(module)
            self.owners.setdefault(id(param), module)
            self._track(param, None)

    def _on_submodule(self, module, name, submodule):
        if submodule is not None:
            self.children.add(id(submodule))
            if not any(m is module for m in self.modules):
                self.modules.append(module)  # a container (nn.Sequential) may hold no parameter itself

    def _track(self, param, name):
        key = id(param)
        if key in self.params or not param.requires_grad:
            return
        # A parameter made after training started (rare) is measured from its creation.
        theta0 = param.detach().clone() if self.started else None
        self.params[key] = {"grad_norms": [], "grad_calls": [], "theta0": theta0}
        self.tensors[key] = param
        record = self.params[key]

        def on_grad(p):
            # Norms in double: a gradient with any non-zero element has a norm above zero.
            record["grad_norms"].append(float(p.grad.detach().double().norm()))
            record["grad_calls"].append(self.backward_calls)

        if param.is_leaf:
            param.register_post_accumulate_grad_hook(on_grad)

    def _before_backward(self, tensor):
        self.backward_calls += 1
        if not self.started:
            self.started = True
            self._track_plain_attributes()
            for key, record in self.params.items():
                record["theta0"] = self.tensors[key].detach().clone()
        if tensor.numel() == 1:
            self.losses.append(float(tensor.detach().double()))

    def _track_plain_attributes(self) -> None:
        """A leaf tensor that requires grad, kept as a plain attribute of a module (`self.w = torch.randn(...,
        requires_grad=True)`), is a tensor the script meant to train that no `parameters()` yields: tracked like a
        parameter from the first backward call, so the report shows whether anything ever updates it."""
        parameter = self.torch.nn.Parameter
        for module in list(self.modules):
            for attr, value in vars(module).items():
                if isinstance(value, self.torch.Tensor) and not isinstance(value, parameter) \
                        and value.requires_grad and value.is_leaf and id(value) not in self.params:
                    self._track(value, None)
                    self.plain_names[id(value)] = f"{type(module).__name__}.{attr}"

    def _before_forward(self, module, args):
        # Only the outermost call counts (the model the training loop calls): inside it, layers such as
        # nn.ReLU(inplace=True) overwrite their own inputs by design.
        outermost = not self.input_clones
        tensors = [(a, a.detach().clone()) for a in args if isinstance(a, self.torch.Tensor)] if outermost else []
        self.input_clones.append(tensors)

    def _after_forward(self, module, args, output):
        if not self.input_clones:
            return
        for tensor, clone in self.input_clones.pop():
            if tensor.shape == clone.shape and not self.torch.equal(tensor.detach(), clone):
                self.mutated_inputs += 1

    def _enter(self, module, args):
        self.running.append(module)

    def _leave(self, module, args, output):
        if self.running and self.running[-1] is module:
            self.running.pop()

    def _made_by(self, tensor, node: str) -> bool:
        """The tensor's values come from an autograd node of this kind, through shape-only nodes at most."""
        fn = getattr(tensor, "grad_fn", None)
        for _ in range(8):
            if fn is None:
                return False
            kind = type(fn).__name__
            if kind.startswith(node):
                return True
            if not kind.startswith(_SHAPE_ONLY_NODES) or not fn.next_functions:
                return False
            fn = fn.next_functions[0][0]
        return False

    def _on_clip(self, tensors) -> None:
        grads = [t.grad.detach() for t in tensors if t.grad is not None]
        norm = float(sum(float(g.double().pow(2).sum()) for g in grads) ** 0.5) if grads else 0.0
        fresh = not self.step_events or self.backward_calls > self.step_events[-1]
        self.clips.append({
            "backward_call": self.backward_calls,
            "steps_before": len(self.step_events),
            "norm": norm,
            "with_grads": len(grads),
            "of": len(tensors),
            "scale": self._scale_of(tensors) if grads and fresh else None,
        })

    def _scale_of(self, tensors) -> float | None:
        """The scale an enabled GradScaler multiplied these gradients by and has not divided out yet (it scaled the
        loss, and has neither unscaled nor stepped their optimizer since its last update)."""
        from torch.amp.grad_scaler import OptState

        ids = {id(t) for t in tensors}
        owners = [o for o in self.optimizers if any(id(p) in ids for g in o.param_groups for p in g["params"])]
        for scaler in self.scalers:
            if not scaler.is_enabled() or getattr(scaler, "_scale", None) is None:
                continue
            for optimizer in owners:
                state = scaler._per_optimizer_states.get(id(optimizer))  # a defaultdict: .get() adds nothing
                if state is None or state["stage"] is OptState.READY:
                    return float(scaler.get_scale())
        return None

    def _clip_outcomes(self) -> list[dict]:
        """Each clip with `used`: did the next optimizer step apply the gradients it clipped (no backward() in
        between, and one since the step before)? None for a clip after the last step with nothing after it."""
        outcomes = []
        for clip in self.clips:
            k = clip["steps_before"]
            previous = self.step_events[k - 1] if k else 0
            if k < len(self.step_events):
                used = self.step_events[k] == clip["backward_call"] and clip["backward_call"] > previous
            else:
                used = None if self.backward_calls == clip["backward_call"] else False
            outcomes.append({**clip, "used": used})
        return outcomes
    def _watch_mode(self, module, args, output):
        """For a layer whose behaviour depends on its mode (Dropout with p > 0, BatchNorm with running statistics),
        note at which backward calls gradients flowed through it, and in which mode it ran."""
        torch = self.torch
        if not isinstance(output, torch.Tensor):
            return
        if isinstance(module, torch.nn.modules.dropout._DropoutNd):
            if not module.p:
                return
        elif isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            if getattr(module, "running_mean", None) is None:
                return  # no running statistics: it normalises with the batch's in either mode
        else:
            return
        if not torch.is_grad_enabled():
            # An evaluation pass (no_grad/inference_mode) that left the layer in training mode: dropout drops,
            # BatchNorm normalises with the batch and moves its running statistics.
            self.no_grad_train_forwards += module.training
            return
        if not output.requires_grad:
            return
        record = self.mode_layers.setdefault(id(module), {"train": set(), "eval": set()})
        mode = "train" if module.training else "eval"

        def on_grad(grad):
            record[mode].add(self.backward_calls)

        output.register_hook(on_grad)

    def _after_step(self, optimizer, args, kwargs):
        self.step_events.append(self.backward_calls)
        self.steps += 1
        if self.max_steps is not None and self.steps >= self.max_steps:
            raise StopTraining()

    # --- the report -------------------------------------------------------------------------------
    def roots(self) -> list:
        return [m for m in self.modules if id(m) not in self.children]

    def names(self) -> dict[int, str]:
        """Parameter names as `named_parameters()` gives them, prefixed by the root module's class; a name that two
        roots of one class would share gets `#2`, `#3`, ... (two `Linear` layers kept outside any model)."""
        names: dict[int, str] = {}
        taken: set[str] = set()
        for module in self.roots():
            for name, p in module.named_parameters():
                if id(p) in names:
                    continue
                label, copy = f"{type(module).__name__}.{name}", 1
                while label in taken:
                    copy += 1
                    label = f"{type(module).__name__}#{copy}.{name}"
                names[id(p)] = label
                taken.add(label)
        for key, label in self.plain_names.items():
            names.setdefault(key, f"{label} (plain attribute)")
        for index, key in enumerate(self.params):
            names.setdefault(key, f"parameter{index}")
        return names

    def discarded(self) -> set[int]:
        """Parameters of a layer that was replaced: registered on a module that was once a submodule, no longer
        reachable from any model, and in no optimizer (`model.fc = nn.Linear(...)` before the optimizer was built
        leaves the old head's parameters behind)."""
        reachable = {id(m) for root in self.roots() for m in root.modules()}
        return {key for key, owner in self.owners.items()
                if key not in self.optimized and id(owner) in self.children and id(owner) not in reachable}

    def mode_switches(self) -> dict:
        """Backward calls that went through a Dropout/BatchNorm layer in eval mode after the same layer had carried
        gradients in training mode."""
        late_eval: set[int] = set()
        for record in self.mode_layers.values():
            if record["train"]:
                first = min(record["train"])
                late_eval |= {call for call in record["eval"] if call > first}
        through = set().union(*(r["train"] | r["eval"] for r in self.mode_layers.values())) if self.mode_layers else set()
        return {"eval_after_train": len(late_eval), "through_mode_layers": len(through)}

    def report(self) -> dict:
        names = self.names()
        discarded = self.discarded()
        params = {}
        for key, record in self.params.items():
            tensor = self.tensors[key]
            if not tensor.requires_grad:
                continue  # frozen on purpose by the end of the run (`requires_grad_(False)`): not trainable
            if key in discarded:
                continue  # a replaced layer's: nothing can train it any more
            final = tensor.detach()
            theta0 = record["theta0"] if record["theta0"] is not None else final
            norms = record["grad_norms"]
            params[names[key]] = {
                "arrivals": len(norms),
                "grad_norms": norms,
                "grad_calls": record["grad_calls"],
                "finite": all(math.isfinite(n) for n in norms),
                "in_optimizer": key in self.optimized,
                "initial_norm": float(theta0.double().norm()),
                # Bitwise: did any element change at all? (the verdict's "moved"; NaN counts as a change)
                "changed": not self.torch.equal(final, theta0),
                "moved": float((final.double() - theta0.double()).norm()),
                "fingerprint": fingerprint(tensor),
            }
        return {
            "steps": self.steps,
            "backward_calls": self.backward_calls,
            "losses": self.losses,
            "params": params,
            "mutated_inputs": self.mutated_inputs,
            "clips": self._clip_outcomes(),
            "double_activations": dict(self.double_activations),
            "eval_dropouts": self.eval_dropouts,
            "transposing_views": self.transposing_views,
            "not_log_probabilities": self.not_log_probabilities,
            "no_grad_train_forwards": self.no_grad_train_forwards,
            "modes": self.mode_switches(),
        }


def fingerprint(tensor) -> str:
    values = tensor.detach().cpu().double().flatten().tolist()
    return hashlib.sha256(repr(values).encode()).hexdigest()[:16]


def run(script: str, out: str, device: str = "cpu", max_steps: int | None = None, paths=(), args=(),
        cwd: str | None = None, log: str | None = None) -> None:
    """Run `script` as `__main__` under the observer and write the measurements to `out`.

    Meant for a process of its own: it patches torch globally, changes directory and redirects the
    script's output (file descriptors 1 and 2) to `log`.
    """
    if log is not None:
        _redirect_output(log)
    if cwd is not None:
        os.chdir(cwd)
    os.environ["AUTOFIX_DEVICE"] = device
    configure_determinism(device)
    import torch

    observer = Observer(max_steps)
    observer.install()
    result: dict = {"exception": None, "stopped_early": False}
    script = os.path.abspath(script)
    sys.argv = [script, *args]
    sys.path[:0] = [os.path.dirname(script), *paths]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            runpy.run_path(script, run_name="__main__")
        except StopTraining:
            result["stopped_early"] = True
        except SystemExit as exit_:
            if exit_.code not in (0, None):
                result["exception"] = {"type": "SystemExit", "message": str(exit_.code), "line": None}
        except BaseException as error:  # noqa: BLE001 - the point is to record what the script raised
            frames = [f for f in traceback.extract_tb(error.__traceback__) if os.path.abspath(f.filename) == script]
            result["exception"] = {
                "type": type(error).__name__,
                "message": str(error).splitlines()[0] if str(error) else "",
                "line": frames[-1].lineno if frames else None,
            }
    result.update(observer.report())
    # What torch warned the script about (PyTorch attributes them to the script's line, so the text is what
    # identifies them).
    result["warnings"] = sorted({str(w.message).splitlines()[0] for w in caught if str(w.message)})
    result["device"] = device
    result["torch"] = torch.__version__
    with open(out, "w") as handle:
        json.dump(result, handle)


def _redirect_output(log: str) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", closefd=False, buffering=1)
    sys.stderr = open(2, "w", closefd=False, buffering=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autofix.harness.probe")
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--path", action="append", default=[], help="extra import path")
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    run(options.script, options.out, options.device, options.max_steps, options.path, options.args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
