"""Checks that come before the work, and flags refused where they do nothing: verify --all,
calibrate, diff, show, measure, guidelines, memory and plot. Each expensive step is replaced by
one that raises AssertionError, so a test passes only when the check comes first (exit 2, one
line, nothing on stdout)."""
import json
import os
import shlex

import pytest
from conftest import one_line_error


def forbid(monkeypatch, target: str):
    """Replace ``module.attribute`` by a function that fails the test when called."""
    module, _, name = target.rpartition(".")

    def called(*args, **kwargs):
        raise AssertionError(f"{target} ran before the options were checked")
    monkeypatch.setattr(f"{module}.{name}", called)


@pytest.fixture
def no_load(monkeypatch):
    """Loading any network fails the test."""
    forbid(monkeypatch, "costmodel.sources.load")


# ----------------------------------------------------------------------------- verify --all
def test_verify_all_checks_every_networks_memory_before_running_any(cli, monkeypatch):
    monkeypatch.setenv("COSTMODEL_MAX_EXEC_BYTES", "500MB")  # the first networks fit; vgg16's weights do not
    forbid(monkeypatch, "costmodel.executor.run")
    one_line_error(cli("verify", "--all"), "vgg16: memory for the NumPy executor", "over the limit")


# ----------------------------------------------------------------------------- calibrate
@pytest.fixture
def no_calibration(monkeypatch):
    forbid(monkeypatch, "costmodel.calibrate.calibrate")
    forbid(monkeypatch, "costmodel.calibrate.evaluate")


@pytest.mark.parametrize("name", ["dev.md", "dev.yaml", "dev"])
def test_calibrate_writes_a_json_device_file_only(cli, tmp_path, no_calibration, name):
    out = tmp_path / name
    one_line_error(cli("calibrate", "-o", out, "--budget", "5s", "--networks", "mobilenet_v1"),
                   "give -o FILE.json", absent=[".markdown"])
    assert not out.exists()


def test_calibrate_refuses_format_it_does_not_use(cli, tmp_path, no_calibration):
    one_line_error(cli("calibrate", "-o", tmp_path / "d.json", "--format", "json"),
                   "--format chooses how --evaluate reports")


def test_evaluate_refuses_calibration_options(cli, no_calibration):
    one_line_error(cli("calibrate", "--evaluate", "pixel1-tflite-2019", "--budget", "5x", "--networks", "nosuch",
                       "--threads", "0"), "--threads, --budget, --networks", "--evaluate does not run")
    one_line_error(cli("calibrate", "--evaluate", "pixel1-tflite-2019", "--backend", "torch"), "--backend ")


def test_calibrate_checks_threads_before_measuring(cli, tmp_path, no_calibration):
    one_line_error(cli("calibrate", "-o", tmp_path / "d.json", "--threads", "0"),
                   "--threads must be an integer >= 1, got 0")


def test_calibrate_hint_is_a_command_that_finds_the_file(cli, tmp_path, monkeypatch):
    import costmodel.calibrate
    import costmodel.measure
    monkeypatch.setattr(costmodel.measure, "need_onnxruntime", lambda: None)
    pytest.importorskip("scipy")
    fake = {"fit_in_sample": {"within_10pct": 0.5, "mape": 0.1}, "measurements": [], "skipped": []}
    monkeypatch.setattr(costmodel.calibrate, "calibrate", lambda *a, **k: fake)
    out = tmp_path / "my dev.json"
    r = cli("calibrate", "-o", out, "--budget", "5s")
    assert r.code == 0, r.err
    hint = shlex.split(r.err.strip().splitlines()[-1].split("with: ", 1)[1])
    assert hint == ["costmodel", "calibrate", "--evaluate", str(out)]
    # the hint's argument is taken as a device file (not an unknown device name)
    r = cli(*hint[1:])
    one_line_error(r, "device file", absent=["unknown device"])


# ----------------------------------------------------------------------------- diff
@pytest.fixture
def torch_file(tmp_path, monkeypatch):
    """A PyTorch reference whose loading fails the test (it is slow: an import of torch)."""
    path = tmp_path / "tnet.py"
    path.write_text("def make():\n    raise SystemExit('not to be called')\n")
    forbid(monkeypatch, "costmodel.torch_refs.load_torch_ref")
    return f"{path}:make"


@pytest.mark.parametrize("b,needle", [
    ("nosuchnet", "B ('nosuchnet'): unknown network 'nosuchnet'"),
    ("nosuch.onnx", "B ('nosuch.onnx'): ONNX model 'nosuch.onnx' not found"),
    ("mobilenet_v2 --alpha -1", "B ('mobilenet_v2 --alpha -1'):"),
    ("other.py:make", "no such file 'other.py'"),
])
def test_diff_checks_both_sides_before_a_slow_load(cli, torch_file, b, needle):
    one_line_error(cli("diff", torch_file, b, "--res", 32), needle)


def test_diff_checks_the_batch_before_loading(cli, torch_file):
    one_line_error(cli("diff", f"{torch_file} --batch 2", "mobilenet_v2", "--res", 32),
                   "A and B must run at the same batch (A 2, B 1)")


def test_diff_loads_the_quick_side_first_and_keeps_the_order(cli, tmp_path, monkeypatch):
    import costmodel
    import costmodel.registry
    import costmodel.torch_refs
    (tmp_path / "tnet.py").write_text("")
    calls, build = [], costmodel.registry.build
    monkeypatch.setattr(costmodel.torch_refs, "load_torch_ref", lambda ref, input_size=None, **kw: calls.append(
        "torch") or costmodel.load("conv_c8 gap", res=input_size))
    monkeypatch.setattr(costmodel.registry, "build", lambda *a, **kw: calls.append("registry") or build(*a, **kw))
    r = cli("diff", f"{tmp_path / 'tnet.py'}:make", "mobilenet_v1 --alpha 0.25", "--res", 32, "-f", "json")
    assert r.code == 0, r.err
    assert calls == ["registry", "torch"]
    d = json.loads(r.out)
    assert (d["a"]["config"]["network"], d["b"]["config"]["network"]) == ("blocks", "mobilenet_v1")


# ----------------------------------------------------------------------------- show
def test_show_checks_the_seed_first(cli, tmp_path, no_load):
    out = tmp_path / "m2.onnx"
    one_line_error(cli("show", "mobilenet_v2", "--seed", -1, "-o", out),
                   "--seed must be a non-negative integer, got -1")
    assert not out.exists()


@pytest.mark.parametrize("args,needle", [
    (["--seed", "3"], "--seed applies to --format onnx only"),
    (["--no-values"], "--no-values applies to --format onnx only"),
    (["--format", "onnx", "-o", "x.onnx", "--seed", "3", "--no-values"], "--seed sets weight values, which "
                                                                            "--no-values leaves out"),
    (["--format", "onnx", "-o", "x.onnx", "--seed", "3", "--weights", "w.npz"], "--seed draws random weights"),
])
def test_show_refuses_onnx_options_that_do_nothing(cli, tmp_path, monkeypatch, no_load, args, needle):
    monkeypatch.chdir(tmp_path)
    one_line_error(cli("show", "mobilenet_v2", *args), needle)
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- measure: flag names
@pytest.mark.parametrize("args,needle", [
    (["--max-time", "0"], "--max-time must be a positive number of seconds, got 0.0"),
    (["--threads", "0"], "--threads must be an integer >= 1, got 0"),
    (["--runs", "0"], "--runs must be an integer >= 1, got 0"),
    (["--warmup", "-1"], "--warmup must be an integer >= 0, got -1"),
])
def test_measure_names_the_flags_before_loading(cli, tmp_path, no_load, args, needle):
    one_line_error(cli("measure", "mobilenet_v2", *args, "-o", tmp_path / "o.json"), needle)
    assert not (tmp_path / "o.json").exists()


def test_measure_api_keeps_parameter_names():
    from costmodel.measure import MeasureError, check_settings
    with pytest.raises(MeasureError, match=r"^max_time must be a positive number of seconds, got 0$"):
        check_settings(max_time=0)


# ----------------------------------------------------------------------------- guidelines
@pytest.fixture
def no_stacks(monkeypatch):
    forbid(monkeypatch, "costmodel.guidelines.measure_stacks")
    forbid(monkeypatch, "costmodel.guidelines.evaluate")


@pytest.mark.parametrize("args,needle", [
    (["--measure", "--device", "x86-avx2-core", "--device", "bogus", "--table", "4"], "unknown device 'bogus'"),
    (["--measure", "--device", "x86-avx2-core", "--device", "v100"], "--measure predicts on one --device"),
    (["--device", "bogus"], "unknown device 'bogus'"),
    (["--threads", "-5"], "--threads sets the threads of the measured runs; give --measure too"),
    (["--threads", "1"], "give --measure too"),
    (["--measure", "--threads", "0"], "--threads must be an integer >= 1, got 0"),
    (["--table", "4", "--device", "v100"], "--device draws the roofline demo of tables 1-3"),
])
def test_guidelines_options(cli, no_stacks, args, needle):
    one_line_error(cli("guidelines", *args), needle)


def test_guidelines_demo_refuses_a_device_it_cannot_place(cli, tmp_path):
    dev = tmp_path / "mine.json"
    dev.write_text(json.dumps({"name": "mine", "model": "roofline", "kind": "measured", "peak_gflops": 10,
                               "bandwidth_gbs": 5}))
    one_line_error(cli("guidelines", "--table", "1", "--device", dev), "of kind 'measured'")


# ----------------------------------------------------------------------------- memory
@pytest.mark.parametrize("args,needle", [
    (["--align", "64"], "--align rounds the buffers of an arena plan; give --planner greedy or linear too"),
    (["--align", "16", "--planner", "none"], "give --planner greedy or linear"),
    (["--split", "4"], "--split slices the chains of the streamed schedule, not optimal; give --schedule streamed"),
    (["--split", "4", "--schedule", "sequential"], "not sequential"),
])
def test_memory_refuses_flags_that_change_nothing(cli, no_load, args, needle):
    one_line_error(cli("memory", "mobilenet_v2", *args), needle)


def test_memory_split_and_align_where_they_apply(cli):
    net = ["mobilenet_v2", "--alpha", "0.35", "--res", "32"]
    assert cli("memory", *net, "--schedule", "optimal", "--schedule", "streamed", "--split", 2).code == 0
    assert cli("memory", *net, "--planner", "greedy", "--align", 16).code == 0


# ----------------------------------------------------------------------------- plot
@pytest.fixture
def no_figure(monkeypatch):
    forbid(monkeypatch, "costmodel.plot.figure")


@pytest.mark.parametrize("args,needle", [
    (["all", "nosuch"], "unknown network 'nosuch'"),
    (["all", "some_spec.yaml"], "some_spec.yaml: plot places published top-1 accuracies"),
    (["mobilenet_v2", "xception"], "xception: no published top-1 accuracy in data/"),
    (["mobilenet_v2", "NasNet-A", "--x", "mac"], "NasNet-A is not a registry network"),
    (["mobilenet_v2", "--x", "madds", "--device", "bogus"], "unknown device 'bogus'"),
    (["mobilenet_v2", "--device", "v100"], "--device predicts the time of --x latency; --x madds does not"),
    (["mobilenet_v2", "--x", "latency"], "--x latency needs --device"),
])
def test_plot_checks_names_and_device_first(cli, tmp_path, no_figure, args, needle):
    one_line_error(cli("plot", *args, "-o", tmp_path / "q.png"), needle)
    assert not (tmp_path / "q.png").exists()


def test_plot_all_beside_valid_names(cli, tmp_path, monkeypatch):
    """A valid name beside 'all' is among all's points; the names reach the figure as given."""
    import costmodel.plot
    seen = []
    monkeypatch.setattr(costmodel.plot, "figure", lambda names, *a, **k: seen.append(list(names)) or "fig")
    monkeypatch.setattr(costmodel.plot, "save", lambda fig, path: None)
    assert cli("plot", "all", "mobilenet_v2", "nasnet-a", "-o", tmp_path / "q.png").code == 0
    assert seen == [["all", "mobilenet_v2", "nasnet-a"]]
