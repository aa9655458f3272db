"""Latency (issue 10): the predictor recovers known coefficients, the accuracy metrics equal hand
computations, device files are validated field by field and accepted by every --device, the
published devices are what their data fit, and the guideline verdicts follow the measurements."""
import json
import math

import numpy as np
import pytest

import costmodel
from costmodel import predictor as P
from costmodel.errors import CostModelError

pytest.importorskip("scipy", reason="the predictor's fit needs scipy (pip install '.[measure]')")


# ----------------------------------------------------------------------------- metrics by hand
def test_metrics_on_a_fixture_equal_hand_computed_values():
    true = [10.0, 20.0, 40.0, 80.0, 50.0]
    pred = [10.5, 23.0, 36.0, 80.0, 40.0]
    # relative errors: 0.05, 0.15, 0.10, 0.0, 0.20 -> within 10%: 10.5, 36 (exactly 10%), 80 = 3 of 5
    assert P.within(pred, true) == pytest.approx(0.6)
    assert P.mape(pred, true) == pytest.approx((0.05 + 0.15 + 0.10 + 0.0 + 0.20) / 5)
    # ranks true: 1 2 3 5 4; pred: 1 2 3 5 4 -> identical order
    assert P.spearman(pred, true) == pytest.approx(1.0)
    # d = rank differences (1-3, 2-1, 3-2) -> rho = 1 - 6 * (4 + 1 + 1) / (3 * 8) = -0.5
    assert P.spearman([3, 1, 2], [1, 2, 3]) == pytest.approx(-0.5)
    # ties get the mean rank: [1, 1, 2] -> ranks 1.5 1.5 3; against 1 2 3: Pearson of ranks = sqrt(3)/2
    assert P.spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(math.sqrt(3) / 2)
    # the Mult-Adds baseline's k minimizes relative error: t = 2x exactly -> k = 2
    assert P.proportional([1, 2, 3], [2, 4, 6]) == pytest.approx(2.0)


# ----------------------------------------------------------------------------- the fit recovers its truth
def test_fit_recovers_known_coefficients_from_synthetic_timings():
    rng = np.random.default_rng(7)
    truth = {k: {"s_per_flop": rng.uniform(5e-12, 5e-11), "s_per_byte": rng.uniform(1e-11, 1e-10),
                 "s_per_op": rng.uniform(1e-6, 1e-5)} for k in P.CLASSES}
    t0 = 3e-5
    rows = []
    for _ in range(400):  # random per-class totals, as networks and micro-benchmarks give
        rows.append({k: [float(rng.integers(0, 3)) * rng.uniform(1e5, 1e8) * c for c in (1, 0.1, 1e-6)]
                     for k in P.CLASSES})
        for k in P.CLASSES:
            rows[-1][k][2] = float(rng.integers(0, 30))
    times = [P.predict_totals(r, truth, t0) for r in rows]
    coef = P.fit(rows, times)
    per, got_t0 = P.expand(coef, P.FULL_SPEC)
    assert got_t0 == pytest.approx(t0, rel=1e-3)
    for k in P.CLASSES:
        for key in P.COEF_KEYS:
            assert per[k][key] == pytest.approx(truth[k][key], rel=1e-3), (k, key)


def test_tied_spec_expands_to_every_class():
    spec = [(("conv", "conv1x1"), "flops"), (P.CLASSES, "ops"), ("net", "const")]
    per, t0 = P.expand([2.0, 3.0, 4.0], spec)
    assert per["conv"]["s_per_flop"] == per["conv1x1"]["s_per_flop"] == 2.0 and per["dwconv"]["s_per_flop"] == 0
    assert all(per[k]["s_per_op"] == 3.0 for k in P.CLASSES) and t0 == 4.0


def test_channel_padding_by_hand():
    from costmodel.graph import GraphBuilder
    g = GraphBuilder("x", (56, 8, 8))
    g.conv("input", 24, 1, bn=False, name="pw")          # 56 -> 24: padded 64 x 32
    g.conv("pw", 24, 3, groups=24, bn=False, name="dw")  # depthwise 24: padded 32
    graph = g.build()
    assert P.conv_padding_factor(graph.node("pw"), 16) == pytest.approx(64 * 32 / (56 * 24))
    assert P.conv_padding_factor(graph.node("dw"), 16) == pytest.approx(32 / 24)
    assert P.conv_padding_factor(graph.node("pw"), 1) == 1.0
    stem = costmodel.build("mobilenet_v2", alpha=0.5, res=96)
    assert P.conv_padding_factor(stem.node("conv0"), 16) == pytest.approx(16 / 16)  # 3 -> 16: RGB read as is
    tot = P.class_totals(graph, block=16)
    # 8x8 output: 2 x madds + the bias adds, scaled by the padded channel product
    assert tot["conv1x1"][0] == pytest.approx((2 * 64 * 24 * 56 + 64 * 24) * (64 * 32) / (56 * 24))


# ----------------------------------------------------------------------------- device files
def _calibrated(**over):
    d = {"name": "tiny", "model": "calibrated", "peak_gflops": 10.0, "bandwidth_gbs": 5.0, "per_inference_s": 1e-4,
         "coefficients": {k: {"s_per_flop": 1e-10, "s_per_byte": 1e-10, "s_per_op": 1e-6} for k in P.CLASSES}}
    d.update(over)
    return d


def _write(tmp_path, d, name="dev.json"):
    p = tmp_path / name
    p.write_text(json.dumps(d))
    return str(p)


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d.pop("peak_gflops"), "'peak_gflops' is missing"),
    (lambda d: d.update(bandwidth_gbs=-1), "'bandwidth_gbs' must be positive"),
    (lambda d: d.update(per_inference_s="fast"), "'per_inference_s' must be a number"),
    (lambda d: d["coefficients"].pop("dwconv"), "'coefficients.dwconv' is missing"),
    (lambda d: d["coefficients"]["conv"].update(s_per_flop=-2e-11), "'coefficients.conv.s_per_flop' must be non-neg"),
    (lambda d: d["coefficients"]["pool"].pop("s_per_op"), "'coefficients.pool.s_per_op' is missing"),
    (lambda d: d.update(model="magic"), "'model' must be 'roofline' or 'calibrated'"),
    (lambda d: d.pop("name"), "'name' is missing"),
])
def test_bad_device_file_is_one_line_naming_the_field(tmp_path, cli, mutate, field):
    d = _calibrated()
    mutate(d)
    p = _write(tmp_path, d)
    from costmodel.roofline import device
    with pytest.raises(CostModelError, match=field.replace("(", r"\(")):
        device(p)
    r = cli("table", "mobilenet_v1", "--alpha", "0.25", "--res", "64", "--device", p)
    assert r.code == 2 and r.out == "" and len(r.err.strip().splitlines()) == 1 and field in r.err


def test_device_file_is_accepted_everywhere(tmp_path, cli):
    p = _write(tmp_path, _calibrated())
    from costmodel.roofline import device, predict
    g = costmodel.build("mobilenet_v1", alpha=0.25, res=64)
    want = predict(g, device(p))
    r = cli("table", "mobilenet_v1", "--alpha", "0.25", "--res", "64", "--device", p, "--format", "json")
    d = json.loads(r.out)
    assert d["latency"] == {"device": "tiny", "model": "calibrated", "time_s": pytest.approx(want),
                            "bits": 32, "batch": 1, "view": "runtime"}
    assert "roofline" in d and d["roofline"]["device"] == "tiny"
    # t_0 plus the per-layer times that table shows
    assert want == pytest.approx(1e-4 + sum(r_["predicted_s"] for r_ in d["layers"]))
    r = cli("sweep", "mobilenet_v1", "--alpha", "0.25", "--res", "64", "--device", p, "-f", "json")
    assert json.loads(r.out)[0]["latency_s"] == pytest.approx(want)
    r = cli("fit", "mobilenet_v1", "--alpha", "0.25,0.5", "--res", "64", "--device", p, "--max-latency", "1s",
            "-f", "json")
    assert r.code == 0 and {x["alpha"] for x in json.loads(r.out)} == {0.25, 0.5}
    out = tmp_path / "e.csv"
    assert cli("export", "mobilenet_v1", "--alpha", "0.25", "--res", "64", "--device", p, "-o", out).code == 0
    assert "latency (s, tiny, calibrated)" in out.read_text().splitlines()[0]
    png = tmp_path / "p.png"
    assert cli("plot", "mobilenet_v1", "--x", "latency", "--device", p, "-o", png).code == 0 and png.stat().st_size
    assert cli("plot", "mobilenet_v1", "--x", "latency", "-o", png).code == 2


def test_calibrated_time_by_hand():
    from costmodel.graph import GraphBuilder
    from costmodel.roofline import Device, predict
    g = GraphBuilder("x", (8, 4, 4))
    g.conv("input", 16, 1, bn=True, act="relu", name="pw")  # one unit: conv + folded BN + fused ReLU
    graph = g.build()
    coefs = {k: {"s_per_flop": 0.0, "s_per_byte": 0.0, "s_per_op": 0.0} for k in P.CLASSES}
    coefs["conv1x1"] = {"s_per_flop": 1e-9, "s_per_byte": 1e-8, "s_per_op": 1e-3}
    dev = Device("hand", "cpu", 1, 1, model="calibrated", coefficients=coefs, per_inference_s=0.5)
    flops = 2 * 16 * 16 * 8 + 16 * 16 + 16 * 16  # 2 x madds + folded-BN bias add + ReLU
    nbytes = 4 * (8 * 16 + 16 * 16 + 8 * 16 + 16)  # input + output + weights + folded bias, fp32
    assert predict(graph, dev) == pytest.approx(0.5 + 1e-9 * flops + 1e-8 * nbytes + 1e-3)


def test_roofline_devices_keep_the_roofline_model(cli):
    r = cli("table", "mobilenet_v2", "--device", "gtx1080ti", "--format", "json")
    d = json.loads(r.out)
    assert d["latency"]["model"] == "roofline" and d["latency"]["time_s"] == pytest.approx(d["roofline"]["time_s"])


# ----------------------------------------------------------------------------- published devices
def test_builtin_published_devices_are_what_their_data_fit():
    from costmodel.published import DEVICES, fit_device
    from costmodel.roofline import builtin_dir
    import os
    for name in DEVICES:
        with open(os.path.join(builtin_dir(), f"{name}.json")) as f:
            committed = json.load(f)
        fresh = json.loads(json.dumps(fit_device(name)))
        for k in P.CLASSES:
            assert committed["coefficients"][k] == pytest.approx(fresh["coefficients"][k], rel=1e-9, abs=1e-18), name
        assert committed["per_inference_s"] == pytest.approx(fresh["per_inference_s"], abs=1e-12)
        assert [r["time_s"] for r in committed["measurements"]] == [r["time_s"] for r in fresh["measurements"]]


def test_pixel1_mobilenet_v2_leave_one_out():
    from costmodel.calibrate import evaluate
    from costmodel.roofline import device
    r = evaluate(device("pixel1-kryo-1t"))
    assert r["n_configs"] == 22 and set(r["baselines"]) == {"madds", "mac", "roofline"}
    # the published rows the goal is stated on: >= 80% within +-10% when each row is left out
    assert r["within_10pct"] >= 0.80 and r["goals"]["within_10pct"]["reached"]
    assert r["within_10pct"] > r["baselines"]["madds"]["within_10pct"]
    # every left-out prediction came from a fit without its row
    assert all(x["predicted_s"] != x["measured_s"] for x in r["rows"])


def test_evaluate_json_contract(cli):
    r = cli("calibrate", "--evaluate", "pixel1-tflite-2019", "--format", "json")
    d = json.loads(r.out)
    for k in ("device", "protocol", "n_configs", "within_10pct", "mape", "spearman", "baselines"):
        assert k in d
    for b in ("madds", "mac", "roofline"):
        assert set(d["baselines"][b]) == {"within_10pct", "mape", "spearman"}
    assert d["n_configs"] == 19


def test_mnasnet_table_left_out_once_the_network_exists():
    from costmodel.published import records
    rows = [r for r in records() if r["network"] == "mnasnet_a1" and r["paper"] == "mnasnet"
            and r["table"] == "README"]
    assert len(rows) == 25 and {r["knob_dict"]["res"] for r in rows} == {"224", "192", "160", "128", "96"}
    assert {r["device"] for r in rows} == {"pixel1-kryo-1t"}  # TF-Lite of 2018: the MobileNetV2 table's era
    from costmodel.calibrate import device_from_rows, evaluate, row_for
    from costmodel.published import SPEC_TABLE, graph_of
    from costmodel.roofline import Device, load_device_file
    roof = Device("p1", "mobile", 17.2, 9.0)
    data = [row_for(graph_of(r), float(r["published"]) / 1e3, "network", "MnasNet", "mnasnet_a1", roof)
            for r in rows]
    d = device_from_rows(data, SPEC_TABLE, "mnasnet-pixel1", "mobile", (17.2, 9.0), "test", "",
                         {"protocol": "leave-one-out"})
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(d, f)
    r = evaluate(load_device_file(f.name))
    assert r["n_configs"] == 25 and 0 <= r["within_10pct"] <= 1


def test_prediction_function_for_the_reproduction_rows():
    from costmodel.published import records
    from costmodel.roofline import predict_latency
    row = next(r for r in records() if r["model"] == "mobilenet_v2_0.75_160")
    assert row["quantity"] == "latency_ms" and row["knob_dict"]["device"] == "pixel1"
    assert row["device"] == "pixel1-kryo-1t"  # the device profile of the TF-slim README's runtime era
    t = predict_latency(row["network"], {**row["knob_dict"], "device": row["device"]})
    assert abs(t * 1e3 / float(row["published"]) - 1) < 0.15  # in the device's own fit table
    assert predict_latency("mobilenet_v2", {"alpha": 0.75, "res": 160, "classes": 1001}, "pixel1-kryo-1t") == t


# ----------------------------------------------------------------------------- guidelines verdicts
def test_guideline_directions_follow_the_measurements():
    from costmodel.datafiles import read_csv
    from costmodel.guidelines import directions, measure_stacks
    rows = [r for r in read_csv("shufflenet_v2_guidelines.csv") if r["table"] == "2"]
    # a machine on which more groups are faster: G2's direction must be reported as not holding
    fake = {(2, r["config"], r["column"], r["platform"]): 1.0 / (1 + int(r["groups"])) for r in rows}
    got = measure_stacks((2,), measured=fake, predict_device="x86-avx2-core")
    assert {r["measured_s"] for r in got} == set(fake.values())
    ds = directions(got)
    assert len(ds) == 6 and not any(d["measured_holds"] for d in ds) and all(d["paper_holds"] for d in ds)
    assert all(d["measured_ratio"] == pytest.approx(2 / 9) for d in ds)
    assert all("predicted_holds" in d for d in ds)


def test_device_prediction_equals_the_scored_sum_under_runtime_rules(tmp_path):
    # what evaluate scores (class totals x coefficients) is what --device predicts, with a blocked
    # layout (channel padding, layout conversions) and an unfused swish
    from costmodel.roofline import device, predict
    rng = np.random.default_rng(1)
    coefs = {k: {"s_per_flop": rng.uniform(0, 1e-10), "s_per_byte": rng.uniform(0, 1e-10),
                 "s_per_op": rng.uniform(0, 1e-5)} for k in P.CLASSES}
    p = _write(tmp_path, _calibrated(coefficients=coefs, channel_block=16, unfused_activations=["swish"]))
    g = costmodel.build("mixnet_s", alpha=0.5, res=64)
    tot = P.class_totals(g, block=16, unfused=("swish",))
    assert tot["layout"][2] > 0 and tot["act"][2] > P.class_totals(g)["act"][2]
    assert predict(g, device(p)) == pytest.approx(P.predict_totals(tot, coefs, 1e-4))


def test_latency_for_refuses_more_configurations_than_its_limit_before_building_any():
    from costmodel.errors import CostModelError
    from costmodel.roofline import LATENCY_GRID_LIMIT, device, latency_for
    with pytest.raises(CostModelError, match=r"at most 20,000; the grid has 20,001: narrow the grid"):
        latency_for("no_such_network", [(1.0, 224)] * (LATENCY_GRID_LIMIT + 1), device("pixel1-kryo-1t"))
