"""Published accuracy belongs to an architecture (issue 15): it is shown wherever the built graph is
the published one, whatever the knob strings say, and with a note naming the published reading where
the graph is another reading of it (ShuffleNet V2's torchvision vs official megvii unit)."""
import csv
import json

import pytest

from costmodel import accuracy


def test_records_come_from_the_figures_rows():
    recs = accuracy.records()
    nas_family = ("mobilenet_v4.csv", "fbnet.csv", "proxylessnas.csv", "efficientnet.csv", "mnasnet.csv",
                  "ghostnet.csv")  # issue 13's files
    assert len([p for p in recs if p.extra.get("file") not in nas_family]) == 131
    assert len([p for p in recs if p.extra.get("file") in nas_family]) == 24 + 48
    v1 = [p for p in recs if p.network == "mobilenet_v1" and p.release]
    assert len(v1) == 16 and all(p.classes == 1001 for p in v1)
    nas = next(p for p in recs if p.model == "NasNet-A")
    assert (nas.network, nas.top1, nas.madds_M, nas.params_M) == ("", 74.0, 564.0, 5.3)  # published-only point
    err = next(p for p in recs if p.model == "ShuffleNetV2 1.0x")
    assert (err.top1, err.top1_printed, err.knobs) == (69.4, "100 - 30.6", (("impl", "megvii"),))


def test_same_graph_under_another_knob_string():
    """MobileNetV3-Large at alpha 1 is the same graph under torchvision's and TF-slim's rounding rule
    (only a layer name differs); at 0.75 the rules build different graphs (140 M vs 155 M Mult-Adds)."""
    a = accuracy.lookup("mobilenet_v3_large", 1.0, 224, {"rounding": "tfslim"})
    b = accuracy.lookup("mobilenet_v3_large", 1.0, 224, {"rounding": "torchvision"})
    assert a == b and a.top1 == 75.2 and a.note == ""
    assert accuracy.lookup("mobilenet_v3_large", 0.75, 224, {"rounding": "tfslim"}).top1 == 73.3
    assert accuracy.lookup("mobilenet_v3_large", 0.75, 224, {"rounding": "torchvision"}) is None
    # TF-slim's 1001-class checkpoints measure the same architecture as a 1000-class build
    assert accuracy.lookup("mobilenet_v1", 0.5, 160).top1 == 59.1


def test_another_reading_is_shown_with_a_note():
    p = accuracy.lookup("shufflenet_v2", 1.0, 224)  # torchvision's unit, the default
    assert p.top1 == 69.4 and p.release
    assert p.note == "published for impl=megvii; this graph differs from it in stage2.0 and the classifier"
    assert p.cited.endswith(f"({p.note})")
    q = accuracy.lookup("shufflenet_v2", 1.0, 224, {"impl": "megvii"})
    assert q.top1 == 69.4 and q.note == ""                       # the published graph itself


@pytest.mark.parametrize("network,alpha,knobs", [
    ("shufflenet_v1", 1.5, {"groups": 1}),       # another architecture (every unit differs), not a reading
    ("resnet50", None, {}),                       # v1.5 moves the stride in three units: not v1's figure
    ("mobilenet_v1", 0.8, {}),
])
def test_different_architectures_get_no_figure(network, alpha, knobs):
    assert accuracy.lookup(network, alpha, 224, knobs) is None


def test_export_has_top1_wherever_published(cli, tmp_path):
    out = tmp_path / "x.csv"
    r = cli("export", "mobilenet_v3_large", "shufflenet_v2", "--alpha", "1,1.5", "-o", out)
    assert r.code == 0, r.err
    rows = {(d["network"], d["alpha"]): d for d in csv.DictReader(out.open(encoding="utf-8"))}
    top1 = {k: d["published top-1 (%)"] for k, d in rows.items()}
    assert top1 == {("mobilenet_v3_large", "1.0"): "75.2", ("mobilenet_v3_large", "1.5"): "",  # none published
                    ("shufflenet_v2", "1.0"): "69.4", ("shufflenet_v2", "1.5"): "72.6"}
    assert "published for impl=megvii" in rows[("shufflenet_v2", "1.0")]["top-1 source"]


def test_fit_shows_published_top1(cli):
    r = cli("fit", "shufflenet_v2")
    assert r.code == 0, r.err
    lines = [ln.split() for ln in r.out.splitlines() if ln.strip().startswith(("0.5 ", "1 ", "1.5 ", "2 "))]
    assert [ln[5] for ln in lines] == ["75.0", "72.6", "69.4", "61.1"] and all(ln[6] == "published" for ln in lines)
    assert "[1] published for impl=megvii; this graph differs from it in stage2.0 and the classifier" in r.out
    r = cli("fit", "shufflenet_v2", "--format", "json")
    d = json.loads(r.out)
    assert all(x["top1_basis"] == "published" and x["top1_note"].startswith("published for impl=megvii") for x in d)
