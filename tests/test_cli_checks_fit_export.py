"""fit and export tell what is wrong with their input before the expensive work: a bad device, a
bad --max-latency, an --accuracy a user's network cannot have, a grid too large for --device, an
unknown network among several, an alpha, resolution or class count no network accepts. Each test
replaces the expensive step (the sweep, the peak planning, the latency prediction, the build of a
candidate) by one that fails the test, so a check that comes too late fails here."""
from __future__ import annotations

import pytest
from conftest import one_line_error

#: 1201 alphas x 29 resolutions = 34,829 rows: more than roofline.LATENCY_GRID_LIMIT (20,000)
BIG_GRID = ["--alpha", "0.3:1.5:0.001", "--res", "96:320:8"]
#: one alpha x 20,069 resolutions: a grid the vectorized sweep computes in a fraction of a second
WIDE_RES = ["--alpha", "1", "--res", "32:20100:1"]


def _forbid(monkeypatch, target, name, what):
    def fail(*a, **k):
        raise AssertionError(f"{what} ran before the input was checked")
    monkeypatch.setattr(target, name, fail)


@pytest.fixture
def no_sweep(monkeypatch):
    """fit may not sweep (nor plan a peak, nor predict a latency)."""
    import costmodel.fit
    import costmodel.roofline
    import costmodel.sweeps
    _forbid(monkeypatch, costmodel.sweeps, "sweep", "the sweep")
    _forbid(monkeypatch, costmodel.fit, "_peak_column", "the peak planning")
    _forbid(monkeypatch, costmodel.roofline, "latency_for", "the latency prediction")


@pytest.fixture
def no_peaks(monkeypatch):
    """fit may sweep, but not plan a peak nor predict a latency."""
    import costmodel.fit
    import costmodel.roofline
    _forbid(monkeypatch, costmodel.fit, "_peak_column", "the peak planning")
    _forbid(monkeypatch, costmodel.roofline, "latency_for", "the latency prediction")


@pytest.fixture
def no_build(monkeypatch):
    """export may not build a candidate."""
    import costmodel.export
    _forbid(monkeypatch, costmodel.export, "_candidate", "a candidate's build")


# ----------------------------------------------------------------------------- fit
@pytest.mark.parametrize("args,needle", [
    (["--device", "bogus"], "unknown device 'bogus'; accepted: "),
    (["--device", "x86-avx2-core", "--max-latency", "5parsecs"], "bad value '5parsecs' for --max-latency"),
])
def test_fit_tells_a_bad_device_or_latency_before_fitting(cli, no_sweep, tmp_path, args, needle):
    out = tmp_path / "f.csv"
    r = cli("fit", "mobilenet_v2", *BIG_GRID, "--max-peak-memory", "100MB", *args, "-o", out)
    one_line_error(r, needle)
    assert not out.exists()


@pytest.mark.parametrize("accuracy", ["published", "interpolated"])
def test_fit_refuses_published_accuracy_for_own_network_before_sweeping(cli, no_sweep, tmp_path, accuracy):
    spec = tmp_path / "net.yaml"
    spec.write_text("blocks:\n  - conv_k3_s2_c8\n  - gap\n  - fc\n")
    for source in (str(spec), "@res96 conv_k3_s2_c8 gap fc"):
        r = cli("fit", source, "--alpha", "0.5,1", "--res", "64,96", "--max-peak-memory", "1GB",
                "--accuracy", accuracy)
        one_line_error(r, f"--accuracy {accuracy} needs published accuracies")


def test_fit_refuses_a_grid_too_large_for_device_before_sweeping(cli, no_sweep):
    """No Mult-Adds/params/FLOPs budget: every row of the grid reaches the prediction."""
    r = cli("fit", "mobilenet_v2", *BIG_GRID, "--max-peak-memory", "1GB", "--device", "x86-avx2-core")
    one_line_error(r, "at most 20,000; the grid has 34,829", "--max-madds")


def test_fit_counts_rows_for_device_after_cheap_budgets_before_peaks(cli, no_peaks):
    r = cli("fit", "mobilenet_v2", *WIDE_RES, "--max-params", "1G", "--max-peak-memory", "1GB",
            "--device", "x86-avx2-core")
    one_line_error(r, "budgets leave 20,069: narrow the grid")


def test_fit_device_takes_a_large_grid_that_a_budget_narrows(cli):
    """The count is of the rows within the cheap budgets, not of the grid: 3 of 20,069 are predicted;
    a budget that keeps them all is refused, and the message says what was counted."""
    r = cli("fit", "mobilenet_v2", *WIDE_RES, "--max-madds", "15.6M", "--device", "x86-avx2-core", "-f", "csv")
    assert r.code == 0, r.err
    lines = r.out.strip().splitlines()
    assert len(lines) == 1 + 3 and "latency_s" in lines[0]
    r = cli("fit", "mobilenet_v2", *WIDE_RES, "--max-madds", "100000G", "--device", "x86-avx2-core", "-f", "csv")
    one_line_error(r, "budgets leave 20,069", "lower a budget")


# ----------------------------------------------------------------------------- export
@pytest.mark.parametrize("nets,args,needle", [
    (["mobilenet_v2", "mobilenet_v1"], ["--device", "bogus"], "unknown device 'bogus'; accepted: "),
    (["mobilenet_v2", "nosuchnet"], [], "unknown network 'nosuchnet'"),
    (["mobilenet_v2", "conv_c8 ir_e-1_c16"], [], "e (expansion ratio t) must be a positive number, got -1"),
])
def test_export_checks_device_and_every_network_before_building(cli, no_build, tmp_path, nets, args, needle):
    out = tmp_path / "b.xlsx"
    r = cli("export", *nets, "--alpha", "0.5,1", "--res", "96,128", *args, "-o", out)
    one_line_error(r, needle)
    assert not out.exists()


@pytest.mark.parametrize("args,needle", [
    (["--alpha", "0.5,-1"], "--alpha: alpha must be a positive finite number, got -1.0"),
    (["--alpha", "0.5,0"], "--alpha: alpha must be a positive finite number, got 0.0"),
    (["--res", "224,0"], "--res: resolution must be a positive integer, got 0; accepted: N or HxW"),
    (["--res", "224,-32"], "--res: resolution must be a positive integer, got -32"),
    (["--classes", "0"], "--classes: classes must be a positive integer, got 0"),
])
def test_export_invalid_values_are_errors_not_skips(cli, no_build, tmp_path, args, needle):
    out = tmp_path / "e.csv"
    r = cli("export", "mobilenet_v2", "shufflenet_v2", *args, "-o", out)
    one_line_error(r, needle)
    assert "skipped" not in r.err and not out.exists()


def test_export_still_skips_what_a_valid_network_cannot_build(cli, tmp_path):
    """A valid resolution below a network's minimum is that network's refusal: skipped with a note;
    an invalid one is an error."""
    out = tmp_path / "e.csv"
    r = cli("export", "mobilenet_v2", "--res", "2,224", "-o", out)
    assert r.code == 0 and "skipped mobilenet_v2 resolution 2:" in r.err and out.exists(), r.err
    r = cli("export", "mobilenet_v2", "--res", "0,224", "-o", tmp_path / "f.csv")
    one_line_error(r, "--res: resolution must be a positive integer, got 0")


def test_export_names_the_network_once(cli, tmp_path):
    """A refusal whose reason starts with the configuration's own name does not repeat it."""
    spec = tmp_path / "n.yaml"
    spec.write_text("blocks:\n  - conv_c8\n  - gap\n  - fc\n")
    r = cli("export", spec, "--set", "foo=1", "-o", tmp_path / "o.csv")
    one_line_error(r, "nothing to export", "spec files take no knobs")
    assert r.err.count(str(spec)) == 1, r.err
    r = cli("export", "mobilenet_v2", "--classes", "0", "-o", tmp_path / "o.csv")
    one_line_error(r, "classes must be a positive integer, got 0")
    assert r.err.count("mobilenet_v2") == 0, r.err
