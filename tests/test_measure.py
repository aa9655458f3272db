"""``costmodel measure`` and ``costmodel calibrate`` return well-formed results on tiny networks
(shapes of the results only: timings are never asserted; they live in benchmarks/)."""
import json
import sys

import pytest

import costmodel

ort = pytest.importorskip("onnxruntime", reason="measuring needs onnxruntime (pip install '.[measure]')")

KEYS = ("network", "alpha", "resolution", "batch", "backend", "backend_version", "threads", "cpu", "runs",
        "median_s", "p10_s", "p90_s", "layers")


def _tiny():
    return costmodel.build("mobilenet_v1", alpha=0.25, res=32, classes=10)


def _well_formed(m, backend, runs, batch=1):
    d = m.to_dict()
    assert all(k in d for k in KEYS)
    assert d["backend"] == backend and d["runs"] == runs and d["batch"] == batch and d["threads"] == 1
    assert 0 < d["p10_s"] <= d["median_s"] <= d["p90_s"] and d["min_s"] <= d["p10_s"]
    names = [r["name"] for r in d["layers"]]
    g = _tiny()
    assert [n.name for n in g.nodes] == names[:len(g.nodes)]  # the analytical rows, in order, then runtime rows
    assert all(r["measured_s"] >= 0 for r in d["layers"]) and any(r["measured_s"] > 0 for r in d["layers"])
    assert d["layers"][0]["madds"] == costmodel.analyze(g).rows[0]["madds"]


def test_measure_onnxruntime_is_well_formed():
    from costmodel.measure import measure
    _well_formed(measure(_tiny(), "onnxruntime", threads=1, runs=3, warmup=1), "onnxruntime", 3)


def test_measure_torch_is_well_formed():
    pytest.importorskip("torch", reason="the torch backend needs PyTorch")
    from costmodel.measure import measure
    _well_formed(measure(_tiny(), "torch", threads=1, runs=3, warmup=1, batch=2), "torch", 3, batch=2)


def test_measure_cli_json_contract_batch_and_onnx_input(cli, tmp_path):
    r = cli("measure", "mobilenet_v1", "--alpha", "0.25", "--res", "32", "--classes", "10", "--runs", "3",
            "--warmup", "1", "--batch", "2", "--format", "json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert all(k in d for k in KEYS) and d["batch"] == 2 and d["alpha"] == 0.25 and d["resolution"] == 32
    assert {"name", "measured_s"} <= set(d["layers"][0])
    onnx_path = tmp_path / "tiny.onnx"
    assert cli("show", "mobilenet_v1", "--alpha", "0.25", "--res", "32", "-o", onnx_path).code == 0
    r = cli("measure", onnx_path, "--runs", "2", "--warmup", "0", "--no-profile")
    assert r.code == 0 and "latency: median" in r.out and "stop rule: exactly 2 timed runs" in r.out
    r = cli("measure", "mobilenet_v1", "--batch", "0")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1


def test_missing_runtime_is_one_line_naming_the_extra(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    r = cli("measure", "mobilenet_v1", "--runs", "1")
    assert r.code == 2 and r.err.strip().splitlines() == ["costmodel: error: this needs onnxruntime and onnx: "
                                                          "pip install '.[measure]'"]


def test_median_interval_by_hand():
    from costmodel.measure import ci_rel, median_ci
    xs = list(range(1, 101))  # n = 100: ranks 50 -+ 9.8 -> indices floor(40.2) = 40, ceil(59.8) = 60
    assert median_ci(xs) == (41, 61)
    assert ci_rel([1.0] * 30) == 0.0


def test_calibrate_and_evaluate_a_tiny_design(tmp_path, monkeypatch):
    pytest.importorskip("scipy", reason="the fit needs scipy")
    from costmodel import calibrate as C
    from costmodel.roofline import device, load_device_file
    micro = C.micro_workloads()
    monkeypatch.setattr(C, "micro_workloads", lambda: micro[:3] + micro[-2:])
    monkeypatch.setattr(C, "NETWORK_ALPHAS", (0.25,))
    monkeypatch.setattr(C, "NETWORK_RES", (32,))
    monkeypatch.setattr(C, "MICRO_TIME", 0.01)
    monkeypatch.setattr(C, "NETWORK_TIME", 0.01)
    monkeypatch.setattr(C, "MIN_RUNS", 2)
    d = C.calibrate(budget_s=60, networks=["mobilenet_v3_small_minimal", "shufflenet_v1"])
    assert d["model"] == "calibrated" and len(d["measurements"]) >= 5
    assert {r["kind"] for r in d["measurements"]} == {"micro", "network"}
    p = tmp_path / "mine.json"
    p.write_text(json.dumps(d))
    dev = load_device_file(str(p))
    assert device(str(p)).name == dev.name
    r = C.evaluate(dev)
    assert r["protocol"].startswith("leave-one-family-out") and r["n_configs"] >= 2
    assert set(r["baselines"]) == {"madds", "mac", "roofline"}


def test_guidelines_measure_command_renders_verdicts(cli, monkeypatch):
    import costmodel.measure as M

    def fake(graph, *a, **kw):  # time proportional to MAC: the guidelines' own argument
        t = costmodel.analyze(graph).totals["mac"] * 1e-9
        return M.Measurement(graph.name, None, 56, 1, "onnxruntime", "x", 1, "cpu", 5, t, t, t, min_s=t,
                             cpu_median_s=t)
    monkeypatch.setattr(M, "measure", fake)
    r = cli("guidelines", "--measure", "--table", "2")
    assert r.code == 0, r.err
    out = " ".join(r.out.split())  # the text view wraps long lines at the terminal's width
    assert "g=1 vs g=8" in out and "the direction holds here" in out and "predicted on x86-avx2-core" in out
    r = cli("guidelines", "--measure", "--table", "1", "--format", "json")
    d = json.loads(r.out)
    assert {x["table"] for x in d["rows"]} == {1} and all(x["measured_holds"] for x in d["directions"])
