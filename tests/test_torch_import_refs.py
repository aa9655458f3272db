"""PyTorch model references for the CLI (costmodel.torch_refs): path/to/file.py:factory with
--set arguments coerced, torchvision:/timm: names, and one-line errors for every way a
reference can be wrong."""
import importlib.util
import sys
import textwrap

import pytest

from costmodel.torch_import import TorchImportError
from costmodel.torch_refs import coerce, is_torch_ref, load_torch_ref

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

MODEL_FILE = '''
import torch.nn as nn


def build(width: int = 8, act: str = "relu", se: bool = False, drop: float = 0.0):
    acts = {"relu": nn.ReLU, "relu6": nn.ReLU6}
    layers = [nn.Conv2d(3, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), acts[act]()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(drop), nn.Linear(width, 10))


class Net(nn.Sequential):
    def __init__(self, classes=5):
        super().__init__(nn.Conv2d(3, 4, 1), nn.Flatten(), nn.LazyLinear(classes))


model = nn.Sequential(nn.Conv2d(3, 4, 1))


def not_a_module():
    return 3


def broken():
    raise RuntimeError("boom")
'''


@pytest.fixture
def model_file(tmp_path):
    p = tmp_path / "my_model.py"
    p.write_text(textwrap.dedent(MODEL_FILE))
    return str(p)


def test_file_factory_with_set_arguments(model_file):
    ref = f"{model_file}:build"
    g = load_torch_ref(ref, (3, 20, 16), {"width": "16", "act": "relu6", "se": "TRUE", "drop": "0.1"})
    assert g.meta["network"] == ref and g.name == ref
    assert g.meta["factory_args"] == "width=16 (int), act='relu6' (str), se=True (bool), drop=0.1 (float)"
    assert [n.out_shape for n in g][:3] == [(16, 10, 8)] * 3
    assert [n.op.label(n.in_shapes) for n in g][2] == "relu6"
    # the resolution forms: (C, H, W), (H, W), an int, None = 3 x 224 x 224
    assert load_torch_ref(ref, (20, 16)).input_shape == (3, 20, 16)
    assert load_torch_ref(ref, 32).input_shape == (3, 32, 32)
    assert load_torch_ref(ref).input_shape == (3, 224, 224)
    graph, weights = load_torch_ref(ref, 32, return_weights=True)
    assert set(weights) == {"0", "1", "6"}
    assert load_torch_ref(f"{model_file}:model", 8).output_shape == (4, 8, 8)


@pytest.mark.parametrize("ref_suffix, args, message", [
    ("build", {"depth": "3"}, r"build\(\) rejected the arguments depth=3 \(int\): .*unexpected keyword argument "
                              r"'depth'; it accepts width, act, se, drop$"),
    ("nope", None, r"my_model.py defines no 'nope'; it defines Net, broken, build, not_a_module$"),
    ("not_a_module", None, r"the factory returned an object of type int, not a torch.nn.Module$"),
    ("broken", None, r"broken\(\) failed: RuntimeError: boom$"),
    ("model", {"x": "1"}, r"model is a module instance, it takes no arguments \(x=1 \(int\)\)$"),
    ("Net", None, r"Net: 1 unsupported PyTorch op\(s\): 2 \(LazyLinear at .*/torch/nn/modules/container.py:\d+: an "
                  r"uninitialized lazy module"),
    ("build", {"1x": "2"}, r"argument name '1x' is not a Python identifier"),
])
def test_file_reference_errors_are_one_line(model_file, ref_suffix, args, message):
    with pytest.raises(TorchImportError, match=message) as e:
        load_torch_ref(f"{model_file}:{ref_suffix}", 16, args)
    assert "\n" not in str(e.value)


def test_file_that_fails_to_import_names_the_line(tmp_path):
    p = tmp_path / "bad.py"
    p.write_text("import torch\n\nx = 1\nraise ValueError('no good')\n")
    with pytest.raises(TorchImportError, match=rf"importing {p}:4 failed: ValueError: no good$"):
        load_torch_ref(f"{p}:build")
    with pytest.raises(TorchImportError, match=r"no such file '/nonexistent/m.py'"):
        load_torch_ref("/nonexistent/m.py:build")


def test_reference_syntax_and_coercion():
    assert is_torch_ref("torchvision:mobilenet_v3_large") and is_torch_ref("timm:mobilenetv4_conv_small")
    assert is_torch_ref("models/net.py:build") and not is_torch_ref("mobilenet_v2")
    assert not is_torch_ref("net.yaml") and not is_torch_ref("model.onnx") and not is_torch_ref("net.py")
    assert [coerce(v) for v in ("3", "-2", "0.5", "1e-3", "true", "False", "none", "relu", "3,4,6")] == \
        [3, -2, 0.5, 1e-3, True, False, None, "relu", [3, 4, 6]]
    assert coerce(7) == 7


def test_packages_are_imported_lazily_with_a_clear_error(monkeypatch):
    for ref, package in (("torchvision:mobilenet_v3_large", "torchvision"), ("timm:mobilenetv4_conv_small", "timm")):
        if importlib.util.find_spec(package) is None:
            with pytest.raises(TorchImportError, match=rf"^{ref} needs {package}: pip install {package} "):
                load_torch_ref(ref)
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(TorchImportError, match=r"^torchvision:resnet50 needs PyTorch: pip install '\.\[torch\]'$"):
        load_torch_ref("torchvision:resnet50")


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is None, reason="torchvision is not installed "
                    "(benchmarks/bench_torch_parity.py checks every torchvision model)")
def test_torchvision_reference():
    g = load_torch_ref("torchvision:mobilenet_v3_small", (3, 224, 224))
    assert g.meta["network"] == "torchvision:mobilenet_v3_small" and g.output_shape == (1000,)
    with pytest.raises(TorchImportError, match=r"did you mean mobilenet_v3_small"):
        load_torch_ref("torchvision:mobilenet_v3_smal")


def test_cli_reads_a_python_factory_anywhere_a_network_is_accepted(tmp_path, cli):
    """`costmodel table file.py:factory --res HxW --set arg=value`: the user's first command, through
    the one dispatcher (costmodel.sources), for table, memory and show's refusal."""
    import json
    pytest.importorskip("torch")
    f = tmp_path / "my_model.py"
    f.write_text("import torch.nn as nn\n"
                 "def build(width=16):\n"
                 "    return nn.Sequential(nn.Conv2d(3, width, 3, 2, 1), nn.BatchNorm2d(width), nn.ReLU(),\n"
                 "                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))\n")
    ref = f"{f}:build"
    d = json.loads(cli("table", ref, "--res", "320x240", "--set", "width=8", "-f", "json").out)
    assert (d["height"], d["width"], d["classes"]) == (320, 240, 10)
    # conv 3x3/2 3->8 on 160x120 outputs + FC 8->10, by hand
    assert d["totals"]["madds"] == 8 * 160 * 120 * 27 + 80 and d["totals"]["params"] == 8 * 27 + 8 + 80 + 10
    m = json.loads(cli("memory", ref, "--res", "64", "-f", "json").out)
    assert m["peak_bytes"] > 0
    r = cli("table", ref, "--alpha", "0.5")
    assert r.code == 2 and "alpha does not apply to a PyTorch model" in r.err
