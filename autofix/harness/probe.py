"""Runs one training script, unmodified, under observation, and writes what happened as JSON.

    python -m autofix.harness.probe --out result.json [--max-steps N] [--device cpu|cuda] script.py [args...]

Needs no change to the script. Torch's global hooks see every parameter registered on any module,
every optimizer step and every backward call:
- per parameter (by name): gradient arrivals and their norms, optimizer membership, movement
  ||theta_k - theta_0|| (theta_0 taken at the first backward), and a fingerprint of its final value;
- the loss at each backward call, torch warnings, inputs mutated by a module's forward, and the exception
  (type, message, the script's line) if the script raised;
- the run stops after `--max-steps` optimizer steps.
This module imports torch; the rewriting commands never import it.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import runpy
import sys
import traceback
import warnings


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
        self.losses: list[float] = []
        self.params: dict[int, dict] = {}  # id(param) -> record
        self.tensors: dict[int, object] = {}  # id(param) -> param (kept alive for the final report)
        self.modules: list = []
        self.children: set[int] = set()
        self.optimized: set[int] = set()
        self.mutated_inputs = 0
        self.input_clones: list = []
        self.started = False

    # --- installation -----------------------------------------------------------------------------
    def install(self) -> None:
        torch = self.torch
        from torch.nn.modules import module as module_hooks
        from torch.optim import optimizer as optimizer_hooks

        module_hooks.register_module_parameter_registration_hook(self._on_parameter)
        module_hooks.register_module_module_registration_hook(self._on_submodule)
        module_hooks.register_module_forward_pre_hook(self._before_forward)
        module_hooks.register_module_forward_hook(self._after_forward)
        optimizer_hooks.register_optimizer_step_post_hook(self._after_step)

        original_init = torch.optim.Optimizer.__init__
        observer = self

        def init(optimizer, params, *args, **kwargs):
            original_init(optimizer, params, *args, **kwargs)
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

    # --- hooks --------------------------------------------------------------------------------------
    def _on_parameter(self, module, name, param):
        if param is not None:
            if not any(m is module for m in self.modules):
                self.modules.append(module)
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
        self.params[key] = {"arrivals": 0, "grad_norms": [], "theta0": None}
        self.tensors[key] = param
        record = self.params[key]

        def on_grad(p):
            record["arrivals"] += 1
            record["grad_norms"].append(float(p.grad.detach().double().norm()))

        if param.is_leaf:
            param.register_post_accumulate_grad_hook(on_grad)

    def _before_backward(self, tensor):
        if not self.started:
            self.started = True
            for key, record in self.params.items():
                record["theta0"] = self.tensors[key].detach().clone()
        if tensor.numel() == 1:
            self.losses.append(float(tensor.detach().double()))

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

    def _after_step(self, optimizer, args, kwargs):
        self.steps += 1
        if self.max_steps is not None and self.steps >= self.max_steps:
            raise StopTraining()

    # --- the report -------------------------------------------------------------------------------
    def names(self) -> dict[int, str]:
        """Parameter names as `named_parameters()` gives them, prefixed by the root module's class."""
        names: dict[int, str] = {}
        roots = [m for m in self.modules if id(m) not in self.children]
        for module in roots:
            for name, p in module.named_parameters():
                names.setdefault(id(p), f"{type(module).__name__}.{name}")
        for index, key in enumerate(self.params):
            names.setdefault(key, f"parameter{index}")
        return names

    def report(self) -> dict:
        names = self.names()
        params = {}
        for key, record in self.params.items():
            tensor = self.tensors[key]
            if not tensor.requires_grad:
                continue  # frozen on purpose by the end of the run (`requires_grad_(False)`): not trainable
            theta0 = record["theta0"]
            moved = 0.0 if theta0 is None else float((tensor.detach() - theta0).double().norm())
            norms = record["grad_norms"]
            params[names[key]] = {
                "arrivals": record["arrivals"],
                "grad_norms": norms,
                "finite": all(n == n and n not in (float("inf"), float("-inf")) for n in norms),
                "nonzero": bool(norms) and all(n > 0 for n in norms),
                "in_optimizer": key in self.optimized,
                "moved": moved,
                "fingerprint": fingerprint(tensor),
            }
        return {
            "steps": self.steps,
            "losses": self.losses,
            "params": params,
            "mutated_inputs": self.mutated_inputs,
        }


def fingerprint(tensor) -> str:
    values = tensor.detach().cpu().double().flatten().tolist()
    return hashlib.sha256(repr(values).encode()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autofix.harness.probe")
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--path", action="append", default=[], help="extra import path (the original's folder)")
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)

    os.environ["AUTOFIX_DEVICE"] = options.device
    configure_determinism(options.device)
    import torch

    observer = Observer(options.max_steps)
    observer.install()
    result: dict = {"exception": None, "stopped_early": False}
    script = os.path.abspath(options.script)
    sys.argv = [script, *options.args]
    sys.path[:0] = [os.path.dirname(script), *options.path]
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
    # Keep what torch warned the script about (PyTorch attributes them to the script's line, so the
    # category and text are what identify them); the probe's own NumPy notice is noise.
    result["warnings"] = sorted(
        {str(w.message).splitlines()[0] for w in caught if "NumPy" not in str(w.message) and str(w.message)}
    )
    result["device"] = options.device
    result["torch"] = torch.__version__
    with open(options.out, "w") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
