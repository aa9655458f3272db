"""Sweep axes beyond alpha x rho: the depth multiplier (issue 13), H x W pairs (issue 12), attention
Mult-Adds; chunked computation equal to analyze() row by row, past 2**63 included."""
import random

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import costmodel
from costmodel.errors import CostModelError
from costmodel.sweeps import SWEEP_KEYS, res_axis, sweep

KEYS = SWEEP_KEYS


def _want(name, row, **knobs):
    kw = dict(alpha=float(row["alpha"]), res=(int(row["height"]), int(row["width"])), **knobs)
    if "depth" in row.index:
        kw["depth"] = float(row["depth"])
    return costmodel.analyze(costmodel.build(name, **kw)).totals


def _check(df, name, rows=None, keys=KEYS, **knobs):
    for i in (range(len(df)) if rows is None else rows):
        row = df.iloc[i]
        t = _want(name, row, **knobs)
        assert {k: int(row[k]) for k in keys} == {k: t[k] for k in keys}, (name, dict(row))


def test_depth_is_an_axis_and_no_longer_ignored():
    """sweep(..., depth=1.2) used to count depth 1 silently."""
    one = sweep("efficientnet_b0", [1.0], [224])
    deeper = sweep("efficientnet_b0", [1.0], [224], depth=1.2)
    assert list(deeper["depth"]) == [1.2]
    t = costmodel.analyze(costmodel.build("efficientnet_b0", depth=1.2)).totals
    assert int(deeper["madds"][0]) == t["madds"] != int(one["madds"][0])


def test_alpha_depth_resolution_grid_equals_analyze():
    df = sweep("efficientnet_b0", "1:1.2:0.1", "224:256:16", depth="1:1.4:0.2")
    assert len(df) == 3 * 3 * 3
    assert list(df.columns[:7]) == ["network", "alpha", "resolution", "depth", "height", "width", "classes"]
    assert list(df["depth"][:6]) == [1.0, 1.0, 1.0, 1.2, 1.2, 1.2]   # alpha-major, then depth, then resolution
    _check(df, "efficientnet_b0", random.Random(3).sample(range(len(df)), 8))


def test_depth_on_a_network_without_stage_repeats_is_refused():
    with pytest.raises(CostModelError, match="no depth multiplier"):
        sweep("mobilenet_v3_large", [1.0], [224], depth=[1.0, 1.5])


def test_resolution_pairs():
    df = sweep("mobilenet_v2", [0.5, 1.0], [(320, 240), (240, 320), 224])
    assert "resolution" not in df.columns and list(df["height"][:3]) == [320, 240, 224]
    assert list(df["width"][:3]) == [240, 320, 224]
    _check(df, "mobilenet_v2")
    assert list(res_axis("320x240,224").values()) == [(320, 240), 224]
    square = sweep("mobilenet_v2", [1.0], "96:128:32")
    assert list(square["resolution"]) == list(square["height"]) == list(square["width"]) == [96, 128]


def test_attention_madds_column_where_the_network_has_attention():
    df = sweep("mobilenet_v4_hybrid_medium", [1.0], [224, 256])
    assert (df["attn_madds"] > 0).all()
    _check(df, "mobilenet_v4_hybrid_medium", keys=KEYS + ("attn_madds",))
    assert "attn_madds" not in sweep("mobilenet_v2", [1.0], [224]).columns


@pytest.mark.parametrize("chunk_rows", [1, 5])
def test_chunked_equals_one_chunk(chunk_rows):
    """Both chunk shapes: one configuration x a slice of resolutions, and whole configurations."""
    alphas, res = [0.35, 0.5, 1.0, 1.3], list(range(96, 120, 3)) + [(200, 150)]
    whole = sweep("mobilenet_v2", alphas, res, depth=[1.0, 1.5])
    part = sweep("mobilenet_v2", alphas, res, depth=[1.0, 1.5], chunk_rows=chunk_rows)
    assert whole.equals(part)
    _check(part, "mobilenet_v2", random.Random(chunk_rows).sample(range(len(part)), 6))


@settings(max_examples=8, deadline=None, derandomize=True)
@given(alphas=st.lists(st.sampled_from([0.25, 0.35, 0.5, 0.75, 1.0, 1.3, 1.4]), min_size=1, max_size=3),
       res=st.lists(st.integers(32, 400), min_size=1, max_size=4),
       big=st.sampled_from([None, 2 ** 40 + 3, 3 ** 41]),
       chunk_rows=st.integers(1, 9))
def test_chunked_sweeps_are_exact_past_2_63(alphas, res, big, chunk_rows):
    """Random grids, chunked: every row equals analyze(); a resolution of 2**40 or 3**41 makes counts
    pass 2**63, which come back as exact Python integers (object columns), never wrapped."""
    res = res + ([big] if big else [])
    df = sweep("mobilenet_v2", alphas, res, chunk_rows=chunk_rows)
    rows = [i for i in range(len(df)) if int(df["height"].iloc[i]) == big][:1]
    rows += random.Random(len(df)).sample(range(len(df)), min(2, len(df)))
    _check(df, "mobilenet_v2", rows)
    if big:
        assert df["madds"].dtype == object and max(int(v) for v in df["madds"]) > 2 ** 63


def test_mac_bytes_never_wraps_near_the_int64_limit():
    """mac x 4 overflowed int64 when mac passed 2**61 (the old to_bytes on an int64 column)."""
    r = 2 ** 29
    df = sweep("mobilenet_v2", [1.0], [224, r])
    t = costmodel.analyze(costmodel.build("mobilenet_v2", res=r)).totals
    assert int(df["mac_bytes"].iloc[1]) == t["mac_bytes"] == 4 * t["mac"]


def test_ranges_are_lazy_and_sliced_exactly():
    ax = res_axis("1:10000000:1")
    assert len(ax) == 10_000_000
    h, w = ax.slice(9_999_998, 10_000_000)
    assert h.tolist() == [9_999_999, 10_000_000] and w is h
    assert ax.take(np.array([0, 5, 9_999_999])).__getitem__(0).tolist() == [1, 6, 10_000_000]


def test_bad_resolution_item():
    with pytest.raises(CostModelError, match="integer N or a pair"):
        sweep("mobilenet_v2", [1.0], [224.5])
    with pytest.raises(CostModelError, match="too small"):
        sweep("mobilenet_v2", [1.0], [(320, 8)])
