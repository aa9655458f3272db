"""Independent recount: PyTorch's own FlopCounterMode (2 FLOPs per multiply-accumulate of conv and
matmul ops) and ``parameters()`` on the torch translation of every registry network must equal
our ``madds`` (+ ``attn_madds``, attention's matrix products) and ``params_with_bn`` exactly."""
import pytest

import costmodel as cm

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch==2.13.0)")
pytestmark = pytest.mark.torch


@pytest.mark.parametrize("name", list(cm.networks()))
def test_flop_counter_and_parameters_agree(name):
    from torch.utils.flop_counter import FlopCounterMode
    from costmodel.torch_bridge import to_torch
    net = cm.get_network(name)
    res = net.min_res if net.min_res >= 200 else max(net.min_res, 64)
    g = cm.build(name, res=res)
    model = to_torch(g).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.randn(1, *g.input_shape))
    totals = cm.analyze(g).totals
    assert counter.get_total_flops() == 2 * (totals["madds"] + totals["attn_madds"])
    assert sum(p.numel() for p in model.parameters()) == totals["params_with_bn"]
