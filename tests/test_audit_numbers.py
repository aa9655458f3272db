"""Defects an audit reproduced, each pinned by the numbers it got wrong. Expected values are computed
independently: ``costmodel.analyze(costmodel.build(...))`` with the explicit knob, or the tensor sizes
by hand, never by the code under test called the same way."""
import csv
import io
import json
import math

import pytest
from conftest import one_line_error

import costmodel as cm


def totals(name, **kw):
    """The analysis of a registry network built with explicit knobs."""
    return cm.analyze(cm.build(name, **kw)).totals


def json_out(r):
    assert r.code == 0, r
    return json.loads(r.out)


# ----------------------------------------------------------------------------- 1. diff: a side's own options
DEEPLAB = "mobilenet_v2 --head deeplabv3 --output-stride 16"


def test_diff_side_no_aspp_counts_as_given(cli):
    """`--no-aspp` inside A's quotes is False and given: A is built without the atrous convs."""
    d = json_out(cli("diff", f"{DEEPLAB} --no-aspp", DEEPLAB, "--res", "129", "-f", "json"))
    a, b = d["a"]["config"]["knobs"], d["b"]["config"]["knobs"]
    assert a["aspp"] is False and b["aspp"] is True
    want_a = totals("mobilenet_v2", res=129, head="deeplabv3", output_stride=16, aspp=False)["params"]
    want_b = totals("mobilenet_v2", res=129, head="deeplabv3", output_stride=16, aspp=True)["params"]
    assert (d["total"]["a"]["params"], d["total"]["b"]["params"]) == (want_a, want_b) == (2_981_589, 12_025_557)


def test_diff_side_own_set_wins_over_the_shared_one(cli):
    """A's own `--set head_classes=5` wins over the shared `--set head_classes=7` (as --alpha does)."""
    d = json_out(cli("diff", "mobilenet_v2 --head ssdlite --set head_classes=5", "mobilenet_v2 --head ssdlite",
                     "--set", "head_classes=7", "--res", "96", "-f", "json"))
    assert d["a"]["config"]["knobs"]["head_classes"] == 5 and d["b"]["config"]["knobs"]["head_classes"] == 7
    for side, slots in (("a", 5), ("b", 7)):
        want = totals("mobilenet_v2", res=96, head="ssdlite", head_classes=slots)["params"]
        assert d["total"][side]["params"] == want


def test_diff_side_own_set_wins_over_a_shared_flag(cli):
    """A's `--set aspp=false` replaces the shared `--aspp`; B keeps the shared one."""
    d = json_out(cli("diff", "mobilenet_v2 --set aspp=false", "mobilenet_v2", "--head", "deeplabv3", "--aspp",
                     "--res", "129", "-f", "json"))
    assert d["a"]["config"]["knobs"]["aspp"] is False and d["b"]["config"]["knobs"]["aspp"] is True
    assert d["total"]["a"]["params"] == totals("mobilenet_v2", res=129, head="deeplabv3", aspp=False)["params"]


# ----------------------------------------------------------------------------- 2. --classes with a head
@pytest.mark.parametrize("args", [("table", "mobilenet_v2", "--head", "ssdlite", "-k", "10"),
                                  ("table", "mobilenet_v2", "--head", "deeplabv3", "-k", "10"),
                                  ("sweep", "mobilenet_v1", "--head", "ssd", "-k", "10"),
                                  ("fit", "mobilenet_v2", "--head", "ssdlite", "-k", "10"),
                                  ("memory", "mobilenet_v2", "--head", "ssdlite", "-k", "10")])
def test_classes_with_a_head_is_refused(cli, args):
    """-k changed nothing once a head replaced the classifier: refused, naming --set head_classes."""
    one_line_error(cli(*args), "--classes 10", f"--head {args[3]}", "--set head_classes=N")


def test_export_classes_with_a_head_is_refused(cli, tmp_path):
    out = tmp_path / "e.csv"
    one_line_error(cli("export", "mobilenet_v2", "--head", "ssdlite", "-k", "10", "-o", out), "--classes 10",
                   "--set head_classes=N", written=[out])


def test_reported_classes_are_the_heads_slots(cli):
    """The JSON's classes is the class count the graph has: the head's slots (81 by default, 21 for
    DeepLab, --set head_classes=N otherwise), not the classifier's 1000 that the head replaced."""
    ssd = json_out(cli("table", "mobilenet_v2", "--head", "ssdlite", "--set", "head_classes=91", "--res", "96",
                       "-f", "json"))
    assert ssd["classes"] == 91 == ssd["knobs"]["head_classes"]
    assert ssd["totals"]["params"] == totals("mobilenet_v2", res=96, head="ssdlite", head_classes=91)["params"]
    lab = json_out(cli("table", "mobilenet_v2", "--head", "deeplabv3", "--res", "65", "-f", "json"))
    assert lab["classes"] == 21
    assert cm.build("mobilenet_v2", head="ssdlite").meta["classes"] == 81
    assert cm.build("mobilenet_v2", head="ssdlite", classes=81).meta["classes"] == 81  # what it has: accepted
    sweep = list(csv.DictReader(io.StringIO(cli("sweep", "mobilenet_v1", "--head", "ssd", "-r", "96", "-f",
                                                "csv").out)))
    assert [r["classes"] for r in sweep] == ["81"]


# ----------------------------------------------------------------------------- 3. fit's default resolution
@pytest.mark.parametrize("head, res", [("ssdlite", 320), ("deeplabv3", 513)])
def test_fit_default_grid_is_the_heads_resolution(cli, head, res):
    """fit evaluates the head at its own resolution, as table, sweep, export and memory do."""
    rows = json_out(cli("fit", "mobilenet_v2", "--head", head, "-f", "json"))
    assert [(r["alpha"], r["resolution"]) for r in rows] == [(1.0, res)]
    assert rows[0]["madds"] == totals("mobilenet_v2", res=res, head=head)["madds"]
    assert cm.build("mobilenet_v2", head=head).meta["resolution"] == res  # what table, sweep, export, memory build


# ----------------------------------------------------------------------------- 4. published top-1 and classes
def test_fit_has_no_imagenet_top1_for_ten_classes(cli):
    """71.8 is ImageNet-1k's (1000 classes; 1001 with TF-slim's background): none for -k 10."""
    ten = json_out(cli("fit", "mobilenet_v2", "-k", "10", "-a", "1", "-r", "224", "-f", "json"))
    assert len(ten) == 1 and ten[0]["classes"] == 10
    assert ten[0]["top1"] is None or math.isnan(ten[0]["top1"])
    assert ten[0]["top1_basis"] == "" and ten[0]["top1_source"] == ""
    assert ten[0]["madds"] == totals("mobilenet_v2", classes=10)["madds"]
    text = cli("fit", "mobilenet_v2", "-k", "10", "-a", "1", "-r", "224", "-f", "markdown").out
    assert "no published top-1 for 10 classes" in text and "71.8" not in text
    for k in ("1000", "1001"):  # the same ImageNet classifier: the published figure stands
        assert json_out(cli("fit", "mobilenet_v2", "-k", k, "-a", "1", "-r", "224", "-f", "json"))[0]["top1"] == 71.8


def test_fit_refuses_a_published_ranking_for_ten_classes(cli):
    one_line_error(cli("fit", "mobilenet_v2", "-k", "10", "--accuracy", "published"), "--accuracy published",
                   "10 classes")


def test_export_has_no_imagenet_top1_for_ten_classes(cli, tmp_path):
    out = tmp_path / "e.csv"
    assert cli("export", "mobilenet_v2", "-k", "10", "-o", out).code == 0
    (row,) = list(csv.DictReader(out.open()))
    assert row["classes"] == "10" and row["published top-1 (%)"] == ""
    assert "no published top-1 for 10 classes" in row["top-1 source"]
    assert int(row["params (count)"]) == totals("mobilenet_v2", classes=10)["params"] == 2_202_570


def test_lookup_is_none_for_another_class_count_or_a_head():
    from costmodel.accuracy import lookup
    assert lookup("mobilenet_v2", 1.0, 224, {}, 1000).top1 == 71.8
    assert lookup("mobilenet_v2", 1.0, 224, {}, 10) is None
    assert lookup("mobilenet_v2", 1.0, 320, {"head": "ssdlite"}, 81) is None


# ----------------------------------------------------------------------------- 5. fit's peak for other sources
def test_fit_peak_of_an_onnx_model(cli, tmp_path):
    """No alpha was given, so none is passed to the ONNX model (its widths are fixed)."""
    pytest.importorskip("onnx")
    path = tmp_path / "m.onnx"
    assert cli("show", "mobilenet_v2", "--alpha", "0.35", "--res", "96", "-f", "onnx", "-o", path).code == 0
    rows = json_out(cli("fit", path, "--schedule", "optimal", "-f", "json"))
    want = totals("mobilenet_v2", alpha=0.35, res=96)
    assert [(r["madds"], r["peak_activation_bytes"]) for r in rows] == [(want["madds"],
                                                                         want["peak_activation_bytes"])]


def hw_spec(cli, tmp_path):
    """MobileNetV2 as a spec file (``show -f yaml``) with the resolution [160, 128]."""
    text = cli("show", "mobilenet_v2", "-f", "yaml").out
    assert "resolution: 224}" in text
    path = tmp_path / "y.yaml"
    path.write_text(text.replace("resolution: 224}", "resolution: [160, 128]}"))
    return path


def test_fit_peak_of_a_non_square_spec_file(cli, tmp_path):
    path = hw_spec(cli, tmp_path)
    want = totals("mobilenet_v2", res=(160, 128))["peak_activation_bytes"]
    assert want == 96 * (80 * 64 + 40 * 32) * 4 == 2_457_600  # ir2's stride-2 depthwise conv: in + out, fp32
    rows = json_out(cli("fit", path, "--schedule", "optimal", "-f", "json"))
    assert [(r["height"], r["width"], r["peak_activation_bytes"]) for r in rows] == [(160, 128, want)]


def test_fit_shows_a_non_square_resolution(cli, tmp_path):
    path = hw_spec(cli, tmp_path)
    md = cli("fit", path, "-f", "markdown").out
    row = next(line for line in md.splitlines() if line.startswith("| 1 "))
    assert [c.strip() for c in row.strip("|").split("|")][:2] == ["1", "160x128"]


# ----------------------------------------------------------------------------- 6. -r HxW in fit and export
def test_fit_takes_hxw(cli):
    rows = json_out(cli("fit", "mobilenet_v2", "-a", "1", "-r", "256x192,224", "-f", "json"))
    got = {(r["height"], r["width"]): r["madds"] for r in rows}
    assert got == {(256, 192): totals("mobilenet_v2", res=(256, 192))["madds"],
                   (224, 224): totals("mobilenet_v2", res=224)["madds"]}
    assert got[(256, 192)] == 294_662_144
    hw = next(r for r in rows if r["height"] == 256)
    assert hw["top1_published"] is None or math.isnan(hw["top1_published"])  # published at 224x224 only


def test_export_takes_hxw(cli, tmp_path):
    out = tmp_path / "e.csv"
    assert cli("export", "mobilenet_v2", "-r", "256x192,224", "-o", out).code == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["resolution (px)"] for r in rows] == ["256x192", "224"]
    assert [int(r["Mult-Adds (count)"]) for r in rows] == [totals("mobilenet_v2", res=(256, 192))["madds"],
                                                            totals("mobilenet_v2", res=224)["madds"]]
    assert [r["published top-1 (%)"] for r in rows] == ["", "71.8"]


# ----------------------------------------------------------------------------- 7. export's attention Mult-Adds
def test_export_summary_has_attention_madds(cli, tmp_path):
    out = tmp_path / "e.csv"
    assert cli("export", "mobilenet_v4_hybrid_medium", "mobilenet_v2", "-r", "128", "-o", out).code == 0
    rows = list(csv.DictReader(out.open()))
    want = totals("mobilenet_v4_hybrid_medium", res=128)["attn_madds"]
    assert want > 0
    assert [int(r["attention Mult-Adds (count)"]) for r in rows] == [want, 0]
    full = tmp_path / "f.csv"
    assert cli("export", "mobilenet_v4_hybrid_medium", "-o", full).code == 0
    assert int(next(csv.DictReader(full.open()))["attention Mult-Adds (count)"]) == 41_943_040
    plain = tmp_path / "p.csv"
    assert cli("export", "mobilenet_v2", "-o", plain).code == 0
    assert "attention" not in plain.read_text().splitlines()[0]  # only where a candidate has attention


# ----------------------------------------------------------------------------- 8. the patch-based plan's bound
def test_patched_lower_bound_is_the_patched_plans(cli):
    """MobileNetV2 int8, 4x4 patches up to ir4: the bound is the patched plan's (ir5.expand holds its
    28x28x32 input and 28x28x192 output: 175,616 B), never the per-layer plan's 1,404,928 B."""
    d = json_out(cli("memory", "mobilenet_v2", "--bits", "8", "--inplace", "dw,fused-add", "--patches", "4x4",
                     "--patch-until", "ir4.project", "-f", "json"))
    assert d["peak_bytes"] == 28 * 28 * (32 + 192) == 175_616
    assert d["lower_bound_bytes"] <= d["peak_bytes"]
    assert d["lower_bound_bytes"] == 175_616 and d["exact"] is True
    assert d["per_layer_peak_bytes"] == d["per_layer_lower_bound_bytes"] == (16 + 96) * 112 * 112 == 1_404_928
    assert d["per_layer_exact"] is True
