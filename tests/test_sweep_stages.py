"""Per-stage design spaces: every enumerated or sampled point equals analyze() of its whole graph;
the paper's own choices reproduce the registry network; sampling is uniform, seeded, reported."""
import random

import numpy as np
import pytest

import costmodel
from costmodel.errors import CostModelError
from costmodel.sweeps import SWEEP_KEYS, recipe, prepare, sweep
from costmodel.sweeps.stages import StageAxes

KEYS = SWEEP_KEYS


def _digits(p, point):
    return [(point // p.Q ** (p.S - 1 - s)) % p.Q for s in range(p.S)]


def _check(name, df, p, rows):
    for i in rows:
        row = df.iloc[i]
        g = p.point_graph(float(row["alpha"]), p._choices(_digits(p, int(row["point"]))),
                          (int(row["height"]), int(row["width"])))
        t = costmodel.analyze(g).totals
        assert {k: int(row[k]) for k in KEYS} == {k: t[k] for k in KEYS}, (name, i)


@pytest.mark.parametrize("name,axes,alphas", [
    ("mobilenet_v2", {"width": [0.5, 1.25], "kernel": [3, 5], "depth": [0.5, 2.0], "stages": [1, 3, 6]}, [0.75, 1.0]),
    ("efficientnet_b1", {"width": [0.75, 1.0], "expand": [3, 6], "stages": [2, 5]}, [1.0]),
    ("resnet50", {"width": [0.5, 1.0], "depth": [0.5, 1.0]}, [1.0]),
])
def test_enumerated_points_equal_whole_builds(name, axes, alphas):
    st = StageAxes.of(axes)
    df = sweep(name, alphas, [224, (192, 160)], stages=st, chunk_rows=50)
    p = prepare(recipe(name, alphas, [224, (192, 160)], stages=st))
    assert not p.loop and len(df) == len(alphas) * p.Q ** p.S * 2
    assert list(df["point"][:4]) == [0, 0, 1, 1]                      # alpha, point, then resolution
    _check(name, df, p, random.Random(0).sample(range(len(df)), 6) + [len(df) - 1])


def test_the_papers_choices_reproduce_the_network():
    """Width 1, depth 1 and the table's own kernel and expansion on every stage: the registry
    network itself, exactly (a reference outside the stage machinery)."""
    df = sweep("mnasnet_a1", [1.0], [224], stages={"width": [1.0], "depth": [1.0]})
    t = costmodel.analyze(costmodel.build("mnasnet_a1")).totals
    assert len(df) == 1 and {k: int(df[k][0]) for k in KEYS} == {k: t[k] for k in KEYS}


def test_attention_networks_are_counted_point_by_point():
    df = sweep("mobilenet_v4_hybrid_medium", [1.0], [224], stages={"width": [0.5, 1.0]})
    p = prepare(recipe("mobilenet_v4_hybrid_medium", [1.0], [224], stages={"width": [0.5, 1.0]}))
    assert p.loop and (df["attn_madds"] > 0).all()
    _check("mobilenet_v4_hybrid_medium", df, p, range(len(df)))


def test_sampling_is_uniform_seeded_and_exact():
    from costmodel.sweeps import frame
    axes = {"width": [0.5, 1.0, 1.5], "depth": [1, 2], "kernel": [3, 5, 7], "sample": 300, "stages": [2, 4, 5]}
    p = prepare(recipe("mobilenet_v2", [1.0], [224, 160], stages=axes))
    df = frame(p)
    assert len(df) == 300 and df.equals(frame(p))
    other = sweep("mobilenet_v2", [1.0], [224, 160], stages=dict(axes, seed=1))
    assert not df["point"].equals(other["point"])
    counts = np.bincount(df["stage4_kernel"], minlength=8)[[3, 5, 7]]
    assert counts.min() > 60                                            # about 100 each: uniform
    assert set(df["resolution"]) == {224, 160}
    _check("mobilenet_v2", df, p, range(0, 300, 60))


def test_sweep_to_samples_the_stage_space_it_is_given(tmp_path):
    """sweep_to(sample=N, seed=S) draws the same points as the stage axes' own sample and seed."""
    import pandas as pd
    from costmodel.sweeps import sweep_to
    out = tmp_path / "s.csv"
    r = sweep_to(out, "mobilenet_v2", [1.0], [224], stages={"kernel": [3, 5, 7]}, sample=40, seed=3)
    got = pd.read_csv(out)
    want = sweep("mobilenet_v2", [1.0], [224], stages={"kernel": [3, 5, 7], "sample": 40, "seed": 3})
    assert r["rows"] == 40 and list(got["point"]) == list(want["point"])
    assert [int(v) for v in got["madds"]] == [int(v) for v in want["madds"]]
    with pytest.raises(CostModelError, match="sample applies to per-stage sweeps"):
        sweep_to(tmp_path / "t.csv", "mobilenet_v2", [1.0], [224], sample=5)
    assert not (tmp_path / "t.csv").exists()


def test_distribution_summary_is_order_statistics():
    from costmodel.sweeps.distribution import summary
    df = sweep("mobilenet_v2", [1.0], [224], stages={"width": [0.5, 1.0, 1.5], "sample": 101})
    (madds, params) = summary(df)
    v = sorted(int(x) for x in df["madds"])
    assert madds["n"] == 101 and madds["q50"] == v[50] / 1e6 and madds["q0"] == v[0] / 1e6
    assert params["q100"] == max(int(x) for x in df["params"]) / 1e6


@pytest.mark.parametrize("axes,needle", [
    ({"kernel": [3, 5], "stages": [9]}, "stage 9 does not exist"),
    ({"expand": [3]}, "'t'"),
    ({"width": [0.0]}, "positive"),
    ({}, "at least one of"),
    ({"width": [1.0], "sample": 0}, "--sample"),
    # an even kernel changes a map's size (k // 2 each side), which stage 2's residual add refuses
    ({"kernel": [4]}, r"^mobilenet_v2: stage 2 does not build with --stage-kernel 4: .*add needs equal shapes"),
    ({"kernel": [3, 4], "width": [0.5], "stages": [3]},
     r"^mobilenet_v2: stage 3 does not build with --stage-width 0\.5, --stage-kernel 4: "),
])
def test_bad_stage_axes(axes, needle):
    with pytest.raises(CostModelError, match=needle):
        sweep("resnet50" if "expand" in axes else "mobilenet_v2", [1.0], [224], stages=axes)


def test_too_large_to_enumerate_says_sample():
    with pytest.raises(CostModelError, match="--sample N"):
        sweep("mobilenet_v2", [1.0], [224], stages={"width": list(np.linspace(0.5, 1.5, 60))})
