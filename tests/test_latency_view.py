"""A predicted time is of the configuration the rest of the output describes: a roofline device
estimates the view asked (--batch, --bits, --unfused, --zero-copy), a calibrated device predicts
only what it was fitted on (batch 1, 32-bit floats) and refuses the rest, and a calibrated
device's per-layer times add up to its prediction (layout conversions included)."""
import json
import os

import pytest
from conftest import ROOT, one_line_error

import costmodel
from costmodel.memory import plan
from costmodel.roofline import device, predict, unit_times


def _json(cli, *args):
    r = cli(*args, "-f", "json")
    assert r.code == 0, r.err
    return json.loads(r.out)


def _by_hand(graph, dev, batch: int, bits: int = 32) -> float:
    """The roofline at ``batch`` from the batch-1 plan: each unit reads ``batch`` samples'
    activations and its weights once, and does ``batch`` times the FLOPs."""
    t = 0.0
    for u in plan(graph).units:
        nbytes = (batch * (u.mac - u.weights) + u.weights) * bits / 8
        t += max(batch * u.flops / (dev.peak_gflops * 1e9), nbytes / (dev.bandwidth_gbs * 1e9))
    return t


@pytest.mark.parametrize("batch", [1, 4])
def test_a_roofline_time_is_of_the_batch_asked(cli, batch):
    d = _json(cli, "table", "mobilenet_v2", "--alpha", "0.75", "--res", "160", "--batch", batch,
              "--device", "raspberrypi4")
    g = costmodel.build("mobilenet_v2", alpha=0.75, res=160)
    want = _by_hand(g, device("raspberrypi4"), batch)
    assert d["latency"]["time_s"] == pytest.approx(want, rel=1e-12)
    assert d["roofline"]["time_s"] == pytest.approx(want, rel=1e-12)
    assert sum(r["time_s"] for r in d["layers"]) == pytest.approx(want, rel=1e-12)
    assert d["latency"]["batch"] == batch and d["latency"]["view"] == "deployment"


@pytest.mark.parametrize("flag", ["--bits=8", "--unfused", "--zero-copy"])
def test_the_latency_block_follows_the_view_like_the_roofline_block(cli, flag):
    """Before: the latency block ignored --bits, --unfused and --zero-copy on a roofline device."""
    d = _json(cli, "table", "shufflenet_v2", "--device", "raspberrypi4", flag)
    plain = _json(cli, "table", "shufflenet_v2", "--device", "raspberrypi4")
    assert d["latency"]["time_s"] == pytest.approx(d["roofline"]["time_s"], rel=1e-12)
    assert d["latency"]["time_s"] != pytest.approx(plain["latency"]["time_s"], rel=1e-6)


def test_diff_predicts_each_side_at_its_batch_and_view(cli):
    d = _json(cli, "diff", "shufflenet_v2", "shufflenet_v2 --alpha 0.5", "--device", "raspberrypi4", "--batch", "4",
              "--unfused")
    t = _json(cli, "table", "shufflenet_v2", "--alpha", "0.5", "--device", "raspberrypi4", "--batch", "4",
              "--unfused")
    assert d["b"]["totals"]["time_s"] == pytest.approx(t["latency"]["time_s"], rel=1e-12)


@pytest.mark.parametrize("command,extra", [
    (["table", "mobilenet_v2"], ["--bits", "16"]),
    (["table", "mobilenet_v2"], ["--batch", "2"]),
    (["diff", "mobilenet_v2", "mobilenet_v2 --alpha 0.5"], ["--bits", "8"]),
])
def test_a_calibrated_device_refuses_what_it_was_not_fitted_on(cli, command, extra):
    one_line_error(cli(*command, "--device", "pixel1-kryo-1t", *extra),
                   "calibrated at batch 1 in 32-bit floats", extra[0])


def test_the_api_refuses_too():
    from costmodel.errors import CostModelError
    g = costmodel.build("mobilenet_v2")
    with pytest.raises(CostModelError, match="calibrated at batch 1"):
        predict(g, "pixel1-kryo-1t", 8)
    with pytest.raises(CostModelError, match="--batch 3"):
        predict(g, "pixel1-kryo-1t", batch=3)


def test_blocked_layout_per_layer_times_add_up_to_the_prediction(cli):
    """A device calibrated on onnxruntime's NCHWc (channel_block 16) converts layouts between some
    layers: those times were left out of every per-layer view (3.7% of MixNet-S)."""
    path = os.path.join(ROOT, "benchmarks", "results", "this_machine.json")
    dev = device(path)
    assert int(dev.info["channel_block"]) > 1
    g = costmodel.build("mixnet_s")
    per = unit_times(g, dev)
    names = {n.name for n in g.nodes}
    assert set(per) <= names  # every time sits on a layer row
    assert dev.per_inference_s + sum(per.values()) == pytest.approx(predict(g, dev), rel=1e-12)
    d = _json(cli, "table", "mixnet_s", "--device", path)
    assert dev.per_inference_s + sum(r.get("predicted_s", 0.0) for r in d["layers"]) == \
        pytest.approx(d["latency"]["time_s"], rel=1e-9)


def test_fit_predicts_at_its_bits(cli):
    """fit --bits 8 printed 8-bit MAC bytes beside a 32-bit time and filtered --max-latency on it."""
    import io
    import pandas as pd
    r = cli("fit", "mobilenet_v2", "-a", "0.75", "-r", "160", "--device", "raspberrypi4", "--bits", "8", "-f", "csv")
    assert r.code == 0, r.err
    got = pd.read_csv(io.StringIO(r.out))["latency_s"].iloc[0]
    t = _json(cli, "table", "mobilenet_v2", "--alpha", "0.75", "--res", "160", "--device", "raspberrypi4",
              "--bits", "8")
    assert got == pytest.approx(t["latency"]["time_s"], rel=1e-12)
    assert got == pytest.approx(_by_hand(costmodel.build("mobilenet_v2", alpha=0.75, res=160),
                                         device("raspberrypi4"), 1, bits=8), rel=1e-12)
    one_line_error(cli("fit", "mobilenet_v2", "-a", "0.75", "-r", "160", "--device", "pixel1-kryo-1t", "--bits", "8"),
                   "calibrated at batch 1 in 32-bit floats", "--bits 8")
