"""Readable plots (issue 15): one colour per family in every plot, labels that name the model and
do not collide, log axes with readable intermediate ticks and SI units, every family's published
points in the cross-family plot, and the README's pictures drawn by docs/make_figures.py."""
import os
import re
import subprocess
import sys

import pytest

import costmodel
from costmodel import accuracy, plot

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NEW_FAMILIES = {"MnasNet", "EfficientNet", "EfficientNet-Lite", "GhostNet", "MobileNetV4", "FBNet", "ProxylessNAS"}


def _series(fig):
    """legend label -> (face colour, marker path vertices count) of each scatter series."""
    ax = fig.axes[0]
    out = {}
    for c in ax.collections:
        if c.get_label().startswith("_"):
            continue
        out[c.get_label()] = (tuple(round(v, 3) for v in c.get_edgecolor()[0]), len(c.get_paths()[0].vertices))
    return out


def test_every_family_has_its_own_style():
    fams = {n.family for n in costmodel.networks().values()}
    assert fams <= set(plot.FAMILY_STYLE), sorted(fams - set(plot.FAMILY_STYLE))
    assert len(set(plot.FAMILY_STYLE.values())) == len(plot.FAMILY_STYLE)   # colour and marker tell them apart
    assert set(plot.SHORT) >= {p.network for p in accuracy.records() if p.network}


def test_family_colour_does_not_depend_on_argument_order():
    a = _series(plot.figure(["mobilenet_v1", "shufflenet_v2", "mixnet_s"], labels="none"))
    b = _series(plot.figure(["mixnet_s", "shufflenet_v2", "mobilenet_v1"], labels="none"))
    assert a == b and len(a) == 3
    c = _series(plot.figure(["shufflenet_v2"], labels="none"))
    assert c["ShuffleNet V2"] == a["ShuffleNet V2"]
    from matplotlib.colors import to_rgba
    assert a["MixNet"][0] == tuple(round(v, 3) for v in to_rgba(plot.FAMILY_STYLE["MixNet"][0]))


def test_labels_name_the_model_and_only_what_varies():
    labels = {p.network: p.label for p in plot.points(["mixnet_s", "mixnet_m", "mixnet_l"])}
    assert labels == {"mixnet_s": "MixNet-S", "mixnet_m": "MixNet-M", "mixnet_l": "MixNet-L"}
    v1 = {p.label for p in plot.points(["mobilenet_v1"])}           # one network: width-resolution
    assert "0.5-160" in v1 and len(v1) == 16
    ghost = sorted(p.label for p in plot.points(["ghostnet", "mobilenet_v2"]) if p.network == "ghostnet")
    assert ghost == ["GhostNet 0.5x", "GhostNet 1.3x", "GhostNet 1x"]    # all at 224: the width only
    sn1 = {p.label for p in plot.points(["shufflenet_v1"])}
    assert {"1x g3", "1x g8"} <= sn1 or {"1-224 g3"} <= sn1, sn1


def test_quantized_figures_are_not_the_float_graphs():
    """FBNet's int8 accuracies (device=s8-int8) are kept in data/ but are not the graph's top-1."""
    (p,) = plot.points(["fbnet_a"])
    assert p.top1 == 73.3 and accuracy.lookup("fbnet_a").top1 == 73.3


def test_cross_family_plot_has_every_new_familys_published_points():
    pts = plot.points(["all"])
    fams = {p.family for p in pts if p.computed}
    assert NEW_FAMILIES <= fams
    b3 = next(p for p in pts if p.network == "efficientnet_b3")
    assert b3.x == costmodel.analyze(costmodel.build("efficientnet_b3")).totals["madds"] and b3.top1 == 81.6
    for fam in NEW_FAMILIES:
        assert any(p.family == fam for p in plot.labelled(pts, "front")), fam  # each family named on the plot


def _tick_labels(fig):
    fig.canvas.draw()
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    return [t.get_text() for t, v in zip(ax.get_xticklabels(), ax.get_xticks()) if lo <= v <= hi and t.get_text()]


def test_log_axis_ticks_between_decades_in_si_units():
    ticks = _tick_labels(plot.figure(["mobilenet_v2"], labels="none"))
    assert {"20 M", "50 M", "100 M", "200 M"} <= set(ticks), ticks
    fig = plot.figure(["mobilenet_v2"], x="peak-memory", labels="none")
    ticks = _tick_labels(fig)
    assert ticks and all(re.fullmatch(r"\d+ [kM]B", t) for t in ticks), ticks
    assert "kB = 1000 bytes" in fig.axes[0].get_xlabel()
    assert fig.axes[0].xaxis.get_minor_locator()().size > len(ticks)   # minor ticks between the labelled ones


@pytest.mark.slow
def test_labels_of_plot_all_do_not_collide():
    fig = plot.figure(["all"])
    shown = [t.get_text() for t in fig.axes[0].texts]
    chosen = plot.labelled(plot.points(["all"]), "auto")
    assert plot.label_overlaps(fig) == []
    assert len(shown) >= 0.8 * len(chosen) and len(shown) >= 20, (len(shown), len(chosen))
    frame = fig.axes[0].get_window_extent(fig.canvas.get_renderer())
    for t in fig.axes[0].texts:     # every label inside the axes
        b = t.get_window_extent(fig.canvas.get_renderer())
        assert frame.x0 - 1 <= b.x0 and b.x1 <= frame.x1 + 1 and frame.y0 - 1 <= b.y0 and b.y1 <= frame.y1 + 1


def test_label_modes():
    pts = plot.points(["mobilenet_v2", "mobilenet_v1"])
    assert plot.labelled(pts, "all") == pts and plot.labelled(pts, "none") == []
    front = plot.labelled(pts, "front")
    assert set(map(id, plot.pareto(pts)[:1])) <= set(map(id, front)) and len(front) < len(pts)
    with pytest.raises(costmodel.CostModelError, match="accepted: auto, all, front, none"):
        plot.labelled(pts, "some")


def test_readme_pictures_are_drawn_by_the_script():
    sys.path.insert(0, os.path.join(ROOT, "docs"))
    try:
        import make_figures
    finally:
        sys.path.pop(0)
    pics = make_figures.readme_pictures()
    assert "docs/images/accuracy_vs_madds.png" in pics
    assert set(pics) <= set(make_figures.FIGURES)
    for rel in pics:
        with open(os.path.join(ROOT, rel), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", rel
    r = subprocess.run([sys.executable, os.path.join(ROOT, "docs", "make_figures.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
