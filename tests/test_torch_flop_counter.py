"""Independent recount: PyTorch's own FlopCounterMode (2 FLOPs per multiply-accumulate of conv and
matmul ops) and ``parameters()`` on the torch translation of every registry network must equal
our ``madds`` (+ ``attn_madds``, attention's matrix products) and ``params_with_bn`` exactly.

Both counts depend on shapes only, so the module is built on PyTorch's ``meta`` device: parameters
and activations have shapes and no data, nothing is initialized or computed, and FlopCounterMode
counts every op the real forward pass dispatches. The default run checks the representative
networks (``subsets.representative()``: together they show every family, block type, op kind and
kind of convolution and pooling of the registry); ``python -m pytest -m slow`` checks the others."""
import pytest
from subsets import registry_params

import costmodel as cm

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch==2.13.0)")
pytestmark = pytest.mark.torch


def _counts(g):
    """(FLOPs counted by PyTorch, parameters) of the torch translation of ``g``, on the meta device."""
    from torch.utils.flop_counter import FlopCounterMode

    from costmodel.torch_bridge import GraphModule
    with torch.device("meta"):
        model = GraphModule(g).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.empty(1, *g.input_shape, device="meta"))
    return counter.get_total_flops(), sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", registry_params())
def test_flop_counter_and_parameters_agree(name):
    net = cm.get_network(name)
    res = net.min_res if net.min_res >= 200 else max(net.min_res, 64)
    g = cm.build(name, res=res)
    flops, params = _counts(g)
    totals = cm.analyze(g).totals
    assert flops == 2 * (totals["madds"] + totals["attn_madds"])
    assert params == totals["params_with_bn"]


def test_the_meta_device_counts_as_a_real_forward_pass():
    """The meta module counts what the real one does (same FLOPs, same parameters), on a network
    with every kind of convolution, SE gates and a classifier."""
    from torch.utils.flop_counter import FlopCounterMode

    from costmodel.torch_bridge import to_torch
    g = cm.build("mobilenet_v3_small", res=64)
    model = to_torch(g)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.randn(1, *g.input_shape))
    assert _counts(g) == (counter.get_total_flops(), sum(p.numel() for p in model.parameters()))
