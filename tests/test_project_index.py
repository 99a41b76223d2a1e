"""The project index through the installed CLI: what one file of a project defines is known in the others."""
from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from conftest import run

MODEL = """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)
"""
TRAIN = """\
from model import Net

net = Net()
net.fc.weight.data.normal_()
"""
TRAIN_FIXED = """\
from model import Net
import torch

net = Net()
with torch.no_grad():
    net.fc.weight.normal_()
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def codes(stdout: bytes) -> list[str]:
    return [line.split(": ")[0].removeprefix("./") + " " + line.split(": ")[1].split()[0] for line in stdout.decode().splitlines()
            if ": GF" in line]


def test_a_class_from_another_file_is_known(tmp_path):
    write(tmp_path, {"model.py": MODEL, "train.py": TRAIN})
    done = run(["--no-cache", "train.py"], cwd=tmp_path)
    assert codes(done.stdout) == ["train.py:4:1 GF101"], done.stdout.decode() + done.stderr.decode()
    fixed = run(["--no-cache", "--fix", "train.py"], cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr.decode()
    assert (tmp_path / "train.py").read_text() == TRAIN_FIXED


def test_without_the_other_file_the_name_stays_unknown(tmp_path):
    write(tmp_path, {"train.py": TRAIN})
    done = run(["--no-cache", "train.py"], cwd=tmp_path)
    assert done.returncode == 0 and codes(done.stdout) == [], done.stdout.decode()


def test_package_reexports_relative_imports_and_a_base_class_in_another_file(tmp_path):
    write(tmp_path, {
        "pkg/__init__.py": "from .model import Net\n",
        "pkg/base.py": """\
            import torch.nn as nn


            class Backbone(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.proj = nn.Linear(8, 8)
            """,
        "pkg/model.py": """\
            from .base import Backbone


            class Net(Backbone):
                pass
            """,
        "train.py": """\
            from pkg import Net

            net = Net()
            net.proj.bias.data.zero_()
            """,
    })
    done = run(["--no-cache", "."], cwd=tmp_path)
    assert codes(done.stdout) == ["train.py:4:1 GF101"], done.stdout.decode() + done.stderr.decode()


def test_a_warm_run_sees_a_change_in_the_file_a_result_depended_on(tmp_path):
    write(tmp_path, {"model.py": MODEL, "train.py": TRAIN})
    assert codes(run(["."], cwd=tmp_path).stdout) == ["train.py:4:1 GF101"]
    # `fc` is no longer a layer: the cached result for the unchanged train.py must not be reused.
    (tmp_path / "model.py").write_text(MODEL.replace("nn.Linear(4, 2)", "{}"))
    done = run(["."], cwd=tmp_path)
    assert done.returncode == 0 and codes(done.stdout) == [], done.stdout.decode()
    (tmp_path / "model.py").write_text(MODEL)
    assert codes(run(["."], cwd=tmp_path).stdout) == ["train.py:4:1 GF101"]


def test_stdin_with_a_filename_uses_that_file_s_project(tmp_path):
    write(tmp_path, {"model.py": MODEL})
    done = run(["--no-cache", "--stdin-filename", "train.py"], cwd=tmp_path, stdin=TRAIN.encode())
    assert codes(done.stdout) == ["train.py:4:1 GF101"], done.stdout.decode() + done.stderr.decode()


def test_ray_gives_the_same_diff_as_the_local_executor_with_the_index(tmp_path):
    pytest.importorskip("ray")
    write(tmp_path, {"model.py": MODEL, "train.py": TRAIN})
    local = run(["--no-cache", "--diff", "."], cwd=tmp_path)
    remote = run(["--no-cache", "--diff", "--executor", "ray", "."], cwd=tmp_path)
    assert local.returncode == remote.returncode == 1, remote.stderr.decode()
    assert b"net.fc.weight.normal_()" in local.stdout
    assert local.stdout == remote.stdout


def test_no_index_checks_each_file_alone(tmp_path):
    write(tmp_path, {"model.py": MODEL, "train.py": TRAIN})
    done = run(["--no-index", "train.py"], cwd=tmp_path)
    assert done.returncode == 0 and codes(done.stdout) == [], done.stdout.decode()
    # The cache keeps the two apart: the same run with the index still finds the bug.
    assert codes(run(["train.py"], cwd=tmp_path).stdout) == ["train.py:4:1 GF101"]


LOSSES = textwrap.dedent("""\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class Perceptual(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())

        def forward(self, fake, real):
            content = F.l1_loss(self.features(fake), self.features(real))
            return torch.Tensor([content]).mean()


    def smooth(pred, target):
        return F.mse_loss(pred.detach(), target)
""")

GAN = textwrap.dedent("""\
    import torch.nn.functional as F

    from losses import Perceptual, smooth


    def g_step(netG, netD, z, real, ones):
        fake = netG(z)
        g_loss = F.binary_cross_entropy_with_logits(netD(fake), ones) + Perceptual()(fake, real)
        g_loss.backward()


    def fit(model, loader):
        for x, y in loader:
            smooth(model(x), y).backward()
""")


def test_a_cut_made_in_another_file_reaches_the_backward_that_uses_it(tmp_path):
    write(tmp_path, {"losses.py": LOSSES, "gan.py": GAN})
    done = run(["--no-cache", "--output-format", "concise", "gan.py"], cwd=tmp_path)
    out = done.stdout.decode()
    assert codes(done.stdout) == ["gan.py:8:69 GF202", "gan.py:14:9 GF201"], out + done.stderr.decode()
    assert "in `Perceptual.forward` (losses.py:11)" in out and "in `smooth` (losses.py:16)" in out
    assert "[*]" not in out  # the cut is in the other file: nothing here to fix
    assert codes(run(["--no-index", "--no-cache", "gan.py"], cwd=tmp_path).stdout) == []  # alone, it cannot tell
    assert len(codes(run(["--output-format", "concise", "gan.py"], cwd=tmp_path).stdout)) == 2  # now cached
    # The other file repaired (the term made from tensors, no detach): the cached result for the unchanged
    # gan.py must not be reused, and nothing is reported any more.
    (tmp_path / "losses.py").write_text(LOSSES.replace("torch.Tensor([content]).mean()", "content")
                                        .replace("pred.detach()", "pred"))
    done = run(["--output-format", "concise", "gan.py"], cwd=tmp_path)
    assert done.returncode == 0 and codes(done.stdout) == [], done.stdout.decode()
def test_a_subclass_of_a_torch_layer_in_another_file_holds_the_layers_parameters(tmp_path):
    # torch table: nn.Conv2d's parameter slots are `weight` and `bias`; the subclass in layers.py sets neither,
    # and `Tied` hides `weight` behind a property of its own.
    write(tmp_path, {
        "layers.py": """\
            import torch.nn as nn


            class SameConv(nn.Conv2d):
                pass


            class Tied(nn.Linear):
                @property
                def weight(self):
                    return self.source.weight
            """,
        "train.py": """\
            from layers import SameConv, Tied

            conv = SameConv(3, 8, 3)
            conv.weight.data.normal_(0, 0.02)
            tied = Tied(4, 4)
            tied.weight.data.zero_()
            tied.bias.data.zero_()
            """,
    })
    done = run(["--no-cache", "train.py"], cwd=tmp_path)
    assert codes(done.stdout) == ["train.py:4:1 GF101", "train.py:7:1 GF101"], done.stdout.decode() + done.stderr.decode()


# A small installed library, written for these tests: a package with star re-exports and `__all__`, a builder that
# declares what it returns, a class whose `fc` is an nn.Linear and whose `classifier` is an nn.Sequential.
LIBRARY = {
    "visionlib/__init__.py": "from . import models\n",
    "visionlib/models/__init__.py": "from .resnet import *\nfrom .vgg import *\nfrom ._api import list_models\n",
    "visionlib/models/_api.py": "def list_models():\n    return []\n",
    "visionlib/models/resnet.py": """\
        import torch.nn as nn

        __all__ = ["ResNet", "resnet18"]


        class ResNet(nn.Module):
            def __init__(self, classes=1000):
                super().__init__()
                self.conv1 = nn.Conv2d(3, 64, 7)
                self.fc = nn.Linear(512, classes)


        def _resnet(**kwargs):
            model = ResNet(**kwargs)
            return model


        def register(fn):
            return fn


        @register
        def resnet18(**kwargs) -> ResNet:
            return _resnet(**kwargs)


        def resnet_private_helper():
            return ResNet()
        """,
    "visionlib/models/vgg.py": """\
        from torch import nn


        class VGG(nn.Module):
            def __init__(self):
                super().__init__()
                self.classifier = nn.Sequential(nn.Linear(8, 8), nn.ReLU(True), nn.Linear(8, 2))


        def vgg11(**kwargs):
            return VGG()
        """,
}
FINETUNE = """\
import visionlib
from visionlib import models
from visionlib.models import vgg11

model = visionlib.models.resnet18(classes=10)
model.fc.weight.data.normal_(0, 0.01)
model.fc.bias.data.zero_()
net = vgg11()
net.classifier[2].weight.data.normal_(0, 0.01)
net.classifier[1].weight.data.normal_(0, 0.01)
other = models.resnet_private_helper()
other.fc.weight.data.zero_()
"""


def test_an_installed_library_is_read_from_the_environment(tmp_path):
    # resnet18 is re-exported by a star import (and resnet's `__all__`), its return declared; vgg11's returned
    # class holds an nn.Sequential whose third member is a Linear (its second, a ReLU, has no weight). A name
    # that `__all__` leaves out of the star import is not re-exported: `other` stays unknown.
    write(tmp_path / "site", LIBRARY)
    write(tmp_path / "project", {"finetune.py": FINETUNE})
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")])}
    done = run(["--no-cache", "finetune.py"], cwd=tmp_path / "project", env=env)
    assert codes(done.stdout) == ["finetune.py:6:1 GF101", "finetune.py:7:1 GF101", "finetune.py:9:1 GF101"], \
        done.stdout.decode() + done.stderr.decode()
    # Read, never run: the library is not importable here (it imports nothing autofix needs) and no
    # bytecode was written next to it.
    assert not list((tmp_path / "site").rglob("__pycache__"))


def test_a_library_that_is_not_installed_leaves_the_value_unknown(tmp_path):
    write(tmp_path / "project", {"finetune.py": FINETUNE})
    done = run(["--no-cache", "finetune.py"], cwd=tmp_path / "project")
    assert done.returncode == 0 and codes(done.stdout) == [], done.stdout.decode()


INITS = """\
import torch.nn as nn


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        m.weight.data.normal_(0.0, 0.02)


def orthogonal_scaled(tensor, scale):
    nn.init.orthogonal_(tensor.data)
    tensor.data *= scale
"""
BLOCKS = """\
import torch.nn as nn

from inits import orthogonal_scaled


class Block(nn.Module):
    def __init__(self, depth):
        super().__init__()
        self.proj = nn.Linear(8, 8)
        self.lins = nn.ModuleList()
        for _ in range(depth):
            self.lins.append(nn.Linear(8, 8))

    def reset_parameters(self):
        orthogonal_scaled(self.proj.weight, scale=2.0)
        for lin in self.lins:
            orthogonal_scaled(lin.weight, 2.0)
"""


def test_a_functions_callers_in_other_files_are_its_call_sites(tmp_path):
    # `net.apply(weights_init)` in train.py passes each submodule to weights_init in inits.py; blocks.py passes
    # parameters (a Linear's weight, and each appended Linear's) to orthogonal_scaled.
    write(tmp_path, {"inits.py": INITS, "blocks.py": BLOCKS, "train.py": """\
        import torch.nn as nn

        import inits

        net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()).to("cpu")
        net.apply(inits.weights_init)
        """})
    done = run(["--no-cache", "inits.py"], cwd=tmp_path)
    assert codes(done.stdout) == ["inits.py:7:9 GF101", "inits.py:11:5 GF102", "inits.py:12:5 GF101"], \
        done.stdout.decode() + done.stderr.decode()


def test_a_function_another_file_passes_on_or_looks_up_by_name_keeps_unknown_parameters(tmp_path):
    # train.py hands weights_init to a function it cannot see, and looks orthogonal_scaled up by a string:
    # either may be called with anything, so inits.py is silent (as it is with no caller at all).
    write(tmp_path, {"inits.py": INITS, "blocks.py": BLOCKS, "train.py": """\
        import inits
        from registry import register

        register(inits.weights_init)
        name = input()
        getattr(inits, name)(object(), 1.0)
        print("orthogonal_scaled")
        """})
    done = run(["--no-cache", "inits.py"], cwd=tmp_path)
    assert done.returncode == 0 and codes(done.stdout) == [], done.stdout.decode() + done.stderr.decode()
    write(tmp_path, {"blocks.py": "import torch.nn as nn\n", "train.py": "import inits\n"})
    done = run(["--no-cache", "inits.py"], cwd=tmp_path)
    assert done.returncode == 0 and codes(done.stdout) == [], done.stdout.decode() + done.stderr.decode()
