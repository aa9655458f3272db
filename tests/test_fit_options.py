"""``fit`` (issue 15): published accuracies are never outranked by interpolated ones, --accuracy
published|interpolated|both, and --bits/--schedule for the peak memory it filters on."""
import json

import pytest

import costmodel
from costmodel.errors import CostModelError
from costmodel.fit import fit
from costmodel.memory import report


def test_both_lists_published_before_a_higher_interpolated_estimate():
    # MobileNetV2 0.5-224 is published (65.4); 0.6-224 is not, and its estimate on the curve is higher
    df = fit("mobilenet_v2", {}, alphas=[0.5, 0.6], resolutions=[224])
    assert list(zip(df["alpha"], df["top1_basis"])) == [(0.5, "published"), (0.6, "interpolated")]
    assert df["top1"].iloc[0] == 65.4 and df["top1"].iloc[1] > 65.4
    assert df["top1_published"].iloc[0] == 65.4 and df["top1_published"].isna().iloc[1]


def test_published_only_drops_the_estimates():
    df = fit("mobilenet_v2", {"madds": 300_000_000}, alphas=[0.5, 0.6, 0.75], resolutions=[160, 224],
             accuracy="published")
    got = {(a, r): t for a, r, t in zip(df["alpha"], df["resolution"], df["top1"])}
    assert got == {(0.5, 160): 61.0, (0.5, 224): 65.4, (0.75, 160): 66.4, (0.75, 224): 69.8}
    assert list(df["top1"]) == sorted(df["top1"], reverse=True) and set(df["top1_basis"]) == {"published"}


def test_interpolated_ranks_everything_on_the_curve_through_the_published_points():
    df = fit("mobilenet_v2", {}, alphas=[0.35, 0.5, 0.6], resolutions=[96, 224], accuracy="interpolated")
    assert set(df["top1_basis"]) == {"interpolated"} and len(df) == 6
    assert list(df["top1"]) == sorted(df["top1"], reverse=True)
    pub = df[df["top1_published"].notna()]
    assert len(pub) == 4 and (pub["top1"] == pub["top1_published"]).all()   # the curve meets each figure
    # outside the published range: no extrapolation, so nothing to rank on
    df = fit("mobilenet_v1", {}, alphas=[0.3, 3.0], resolutions=[150], accuracy="interpolated")
    assert list(df["alpha"]) == [0.3]


@pytest.mark.parametrize("schedule,bits", [("sequential", 32), ("streamed", 8), ("optimal", 16)])
def test_peak_column_is_the_memory_report_of_that_schedule_and_bits(schedule, bits):
    df = fit("mobilenet_v2", {}, alphas=[0.35, 1.0], resolutions=[96], bits=bits, schedule=schedule)
    for a, peak in zip(df["alpha"], df["peak_activation_bytes"]):
        g = costmodel.build("mobilenet_v2", alpha=a, res=96)
        assert peak == report(g, schedule, bits)["peak_bytes"]
    mac = costmodel.analyze(costmodel.build("mobilenet_v2", alpha=1.0, res=96)).totals["mac"]
    assert df.set_index("alpha").loc[1.0, "mac_bytes"] == mac * bits // 8


def test_peak_budget_follows_the_schedule():
    # streaming the expanded tensors lowers the peak: a budget that 1.0-224 misses sequentially fits streamed
    g = costmodel.build("mobilenet_v2")
    seq, streamed = (report(g, s)["peak_bytes"] for s in ("sequential", "streamed"))
    assert streamed < seq
    lim = {"peak_activation_bytes": streamed}
    assert fit("mobilenet_v2", lim, alphas=[1.0], resolutions=[224], schedule="sequential").empty
    assert len(fit("mobilenet_v2", lim, alphas=[1.0], resolutions=[224], schedule="streamed")) == 1


def test_cli_options_and_contract(cli):
    r = cli("fit", "mobilenet_v2", "-a", "0.5,0.6", "-r", "224", "--accuracy", "published", "--schedule", "streamed",
             "--bits", "16", "--max-peak-memory", "2MB", "-f", "json")
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    assert [(d["alpha"], d["top1_basis"], d["top1"]) for d in rows] == [(0.5, "published", 65.4)]
    g = costmodel.build("mobilenet_v2", alpha=0.5)
    assert rows[0]["peak_activation_bytes"] == report(g, "streamed", 16)["peak_bytes"]
    assert {"top1_published", "top1_interpolated"} <= set(rows[0])
    r = cli("fit", "mobilenet_v2", "-a", "0.5", "-r", "224", "--schedule", "sequential", "--bits", "8")
    assert r.code == 0 and "peak (bytes, 8-bit, sequential)" in r.out, r.err
    r = cli("fit", "mobilenet_v1", "-a", "0.25", "-r", "128", "--device", "pixel1-kryo-1t", "-f", "json")
    assert r.code == 0 and json.loads(r.out)[0]["latency_s"] > 0, r.err


@pytest.mark.parametrize("args,needle", [
    (["fit", "mobilenet_v2", "--accuracy", "guessed"], "'guessed' is not one of"),
    (["fit", "mobilenet_v2", "--schedule", "random"], "'random' is not one of"),
    (["fit", "@res96 conv_k3_s2_c8 gap fc", "--accuracy", "published"], "--accuracy published needs published"),
])
def test_bad_options_one_line_exit_2(cli, args, needle):
    r = cli(*args)
    assert r.code == 2 and needle in r.err and len(r.err.strip().splitlines()) == 1, r.err


def test_api_rejects_unknown_basis_and_schedule():
    with pytest.raises(CostModelError, match="accepted: published, interpolated, both"):
        fit("mobilenet_v2", {}, accuracy="best")
    with pytest.raises(CostModelError, match="unknown schedule"):
        fit("mobilenet_v2", {}, schedule="lazy")
