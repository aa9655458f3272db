"""In-place kernels, batch and the arena planners (TFLite Micro's greedy and linear): hand-counted
small cases, the issue's figures, TFLM's own test vectors and property tests on random buffer sets
and random graphs (docs/memory.md)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import costmodel
from costmodel import memory as M
from costmodel.memory_arena import Request, arena_size, greedy_offsets, linear_offsets, overlaps, plan_arena
from costmodel.graph import GraphBuilder


def chain(stride=1, reread=False):
    """x (4x8x8) -> c1 1x1 4->8 -> dw 3x3 (stride) -> c2 1x1 8->4; ``reread``: an add reads c1 again."""
    g = GraphBuilder("dwchain", (4, 8, 8))
    a = g.conv("input", 8, 1, bn=False, name="c1")
    d = g.dwconv(a, 3, stride, bn=False, name="dw")
    y = g.conv(d, 4, 1, bn=False, name="c2")
    if reread:
        g.add_tensors([a, g.conv(y, 8, 1, bn=False, name="c3")], "add")
    return g.build()


def narrow_residual():
    """x (8x8x8) -> c1 1x1 8->2 -> c2 1x1 2->8 -> add(x, c2): the add dominates."""
    g = GraphBuilder("res", (8, 8, 8))
    h = g.conv("input", 2, 1, bn=False, name="c1")
    y = g.conv(h, 8, 1, bn=False, name="c2")
    g.add_tensors(["input", y], "add")
    return g.build()


# ----------------------------------------------------------------------------- in-place kernels
def test_inplace_depthwise_by_hand():
    # x 256, c1 out 512, dw out 512, c2 out 256 elements: steps need 768, 1024, 768
    assert M.schedule(chain()).peak == 1024
    s = M.schedule(chain(), inplace="dw")
    assert s.live == [768, 512, 768] and s.peak == 768          # dw: max(512, 512) instead of 512 + 512
    assert s.overwrites[1] == (1, 2, 512)                          # buffer c1 overwritten by dw's output
    # stride 2: dw 8x8x8 (512) -> 8x4x4 (128): 640 becomes max(512, 128) = 512
    assert M.schedule(chain(2)).live[1] == 640
    assert M.schedule(chain(2), inplace="dw").live[1] == 512


def test_inplace_needs_the_input_to_die_there():
    # c1's output is read again by the add: the dw cannot overwrite it, so nothing changes
    g = chain(reread=True)
    assert M.schedule(g, inplace="dw").live == M.schedule(g).live
    assert M.schedule(g, inplace="dw").overwrites == [None] * 5
    assert M.lower_bound(M.plan(g, inplace="dw")) == M.lower_bound(M.plan(g))


def test_inplace_add_and_fused_add_by_hand():
    g = narrow_residual()   # x 512, h 128, y 512, out 512 elements
    assert M.schedule(g).live == [640, 1152, 1536]
    s = M.schedule(g, inplace="add")
    assert s.live == [640, 1152, 1024] and s.peak == 1152             # the add writes over x (or y)
    f = M.schedule(g, inplace="fused-add")
    p = f.plan
    assert [u.name for u in p.units] == ["c1", "c2"] and p.units[1].nodes == ("c2", "add")
    assert f.live == [640, 640]                                       # c2 accumulates into x: 128 + 512
    # MAC: the fused conv reads h, x and its 16 weights + 8 biases, writes the sum once (no y, no add unit)
    assert p.units[1].mac == 128 + 512 + 512 + 24
    assert sum(u.mac for u in M.plan(g).units[1:]) == (128 + 512 + 24) + 3 * 512
    assert M.lower_bound(p) == 640 and f.exact


def test_inplace_figures_of_the_issue():
    """MCUNet's convention: MobileNetV2 1.0 @224 int8 1372 kB with in-place depthwise; ResNet-50 fp32
    7.2 MB with an in-place residual add; the defaults keep today's figures."""
    mb, rn = costmodel.build("mobilenet_v2"), costmodel.build("resnet50")
    assert M.peak_bytes(mb, 8) == 1_505_280 and M.peak_bytes(rn, 32) == 9_633_792
    s = M.schedule(mb, inplace="dw")
    assert s.plan.nbytes(s.peak, 8) == 1_404_928 == 16 * 112 * 112 + 96 * 112 * 112 and s.peak_at == "ir2.expand"
    s = M.schedule(rn, inplace="add")
    assert s.plan.nbytes(s.peak, 32) == 7_225_344 == (64 + 256 + 256) * 56 * 56 * 4
    r = M.report(mb, bits=8, inplace="dw")
    assert r["peak_bytes"] == 1_404_928 and r["inplace"] == ["dw"]
    assert sum(x["bytes"] for x in r["live_at_peak"]) == r["peak_bytes"] == max(t["live_bytes"] for t in r["timeline"])
    r = M.report(rn, inplace="add")   # the in-place row is negative: the live rows still sum to the peak
    assert sum(x["bytes"] for x in r["live_at_peak"]) == r["peak_bytes"] == 7_225_344


def test_inplace_option_parsing():
    assert M.parse_inplace("none") == M.parse_inplace(None) == M.parse_inplace("") == frozenset()
    assert M.parse_inplace("dw, add") == {"dw", "add"} == M.parse_inplace(["add", "dw"])
    with pytest.raises(costmodel.CostModelError, match="unknown in-place option 'conv'; accepted: dw, add"):
        M.parse_inplace("dw,conv")


def test_streamed_chain_keeps_the_fused_residual():
    g = costmodel.build("mobilenet_v2")
    p = M.stream(M.plan(g, inplace="fused-add"))
    u = next(u for u in p.units if u.name == "ir3.expand->ir3.project")
    assert {p.buffers[b].name for b in u.reads} == {"ir2.project.bn"} and u.inplace
    assert M.schedule(g, "streamed", inplace="fused-add").peak <= M.schedule(g, "streamed").peak


# ----------------------------------------------------------------------------- batch
def test_batch_scales_activations_not_weights():
    g = narrow_residual()
    p1, p3 = M.plan(g), M.plan(g, batch=3)
    assert [u.mac for u in p3.units] == [3 * (512 + 128) + 18, 3 * (128 + 512) + 24, 3 * 1536]
    assert [u.madds for u in p3.units] == [3 * u.madds for u in p1.units]
    mb = costmodel.build("mobilenet_v2")
    for kw in ({}, {"inplace": "dw"}):
        assert M.peak_bytes(mb, 8, batch=4, **kw) == 4 * M.peak_bytes(mb, 8, **kw)
    assert M.schedule(mb, "streamed", batch=2).peak == 2 * M.schedule(mb, "streamed").peak
    r1, r2 = M.report(mb, bits=8, batch=2, planner="greedy"), M.report(mb, bits=8, planner="greedy")
    assert r1["peak_bytes"] == 2 * r2["peak_bytes"] and r1["weight_bytes"] == r2["weight_bytes"]
    assert r1["resolutions"][0]["max_bytes"] == 2 * r2["resolutions"][0]["max_bytes"] and r1["batch"] == 2
    with pytest.raises(costmodel.CostModelError, match="batch must be a positive integer"):
        M.plan(mb, batch=0)


# ----------------------------------------------------------------------------- TFLM planners
def reqs(*triples):
    return [Request(s, f, la) for s, f, la in triples]


def test_greedy_tflm_test_vectors():
    """tflite-micro greedy_memory_planner_test.cc (@03b1a1c), see tflm_planner.md 1.5."""
    basics = reqs((10, 0, 1), (20, 2, 3))
    assert greedy_offsets(basics) == [0, 0] and arena_size(basics, [0, 0]) == 20
    medium = reqs((10, 0, 1), (20, 1, 2), (30, 2, 3), (40, 3, 4), (50, 0, 1))
    off = greedy_offsets(medium)
    assert off == [50, 70, 40, 0, 0] and arena_size(medium, off) == 90 and not overlaps(medium, off)
    overlap = reqs((100, 0, 1), (50, 2, 3), (20, 1, 2))
    assert arena_size(overlap, greedy_offsets(overlap)) == 120


def test_greedy_first_fit_and_its_tie_rule_by_hand():
    """Four 1-byte buffers whose lifetimes form a chain A[1,2] B[2,4] C[0,1] D[3,5]: at most two are
    live at once. Current TFLM (ties: the later-added first) places D, C at 0, B above D at 1, and A
    conflicts with C at 0 and B at 1: first fit puts it at 2 - an arena of 3 where 2 suffices. The
    older tie rule (earlier-added first) places A 0, B 1, C 1, D 0: the optimum 2."""
    r = reqs((1, 1, 2), (1, 2, 4), (1, 0, 1), (1, 3, 5))
    assert greedy_offsets(r) == [2, 1, 0, 0] and arena_size(r, greedy_offsets(r)) == 3
    assert greedy_offsets(r, "earlier") == [0, 1, 1, 0] and arena_size(r, greedy_offsets(r, "earlier")) == 2
    assert linear_offsets(r) == [0, 1, 2, 3]
    with pytest.raises(costmodel.CostModelError, match="tie must be"):
        greedy_offsets(r, "best")


def three_convs():
    """1x10x10 -> conv -> conv (1 channel, same size): every step holds two 100-element tensors."""
    g = GraphBuilder("c3", (1, 10, 10))
    a = g.conv("input", 1, 3, bn=False, name="a")
    g.conv(a, 1, 3, bn=False, name="b")
    return g.build()


def test_arena_of_a_chain_meets_the_lower_bound():
    s = M.schedule(three_convs())
    a = plan_arena(s, "greedy", 8)
    assert a.arena_bytes == a.peak_bytes == 200 and a.fragmentation_bytes == 0
    assert [(b["tensor"], b["offset"], b["size"], b["first_use"], b["last_use"]) for b in a.buffers] == [
        ("input", 0, 100, 0, 0), ("a", 100, 100, 0, 1), ("b", 0, 100, 1, 1)]
    lin = plan_arena(s, "linear", 8)
    assert lin.arena_bytes == 300 and [b["offset"] for b in lin.buffers] == [0, 100, 200]
    assert plan_arena(s, "greedy", 8, align=16).arena_bytes == 224    # 100 -> 112 bytes each, as TFLM rounds
    assert plan_arena(s, "none", 8).arena_bytes is None


def test_inplace_blocks_share_an_offset():
    s = M.schedule(chain(2), inplace="dw")
    a = plan_arena(s, "greedy", 32)
    rows = {b["tensor"]: b for b in a.buffers}
    assert rows["c1"]["offset"] == rows["dw"]["offset"] and rows["c1"]["last_use"] == rows["dw"]["first_use"]
    assert a.arena_bytes >= a.peak_bytes == s.peak * 4


@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet50", "shufflenet_v2", "squeezenet1_0", "googlenet"])
@pytest.mark.parametrize("inplace", ["none", "dw,add", "dw,fused-add"])
def test_zoo_arena_is_valid_and_above_the_liveness_peak(name, inplace):
    s = M.schedule(costmodel.build(name), inplace=inplace)
    for planner in ("greedy", "linear"):
        a = plan_arena(s, planner, 8)
        _assert_valid(a)
        assert a.arena_bytes >= a.peak_bytes == s.plan.nbytes(s.peak, 8)


def _assert_valid(a):
    """No two buffers of different blocks that are live at a common step overlap in the arena."""
    bs = a.buffers
    for i in range(len(bs)):
        for j in range(i + 1, len(bs)):
            x, y = bs[i], bs[j]
            if x["block"] == y["block"] or x["first_use"] > y["last_use"] or y["first_use"] > x["last_use"]:
                continue
            assert x["offset"] + x["size"] <= y["offset"] or y["offset"] + y["size"] <= x["offset"], (x, y)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 64), st.integers(0, 12), st.integers(0, 6)), min_size=1, max_size=14),
       st.sampled_from(["later", "earlier"]))
def test_greedy_never_overlaps_and_never_beats_the_bound(items, tie):
    r = [Request(s, f, f + d) for s, f, d in items]
    off = greedy_offsets(r, tie)
    assert not overlaps(r, off)
    live = max(sum(q.size for q in r if q.first <= t <= q.last) for t in range(20))
    assert live <= arena_size(r, off) <= sum(q.size for q in r) == arena_size(r, linear_offsets(r))


@st.composite
def random_graphs(draw):
    """Random DAGs on 8x8 maps: 1x1 and 3x3 convs, depthwise convs, adds and concats of earlier tensors."""
    g = GraphBuilder("rand", (4, 8, 8))
    refs = ["input"]
    for i in range(draw(st.integers(1, 9))):
        kind = draw(st.sampled_from(["conv", "dw", "add", "concat"]))
        x = draw(st.sampled_from(refs))
        if kind == "conv":
            refs.append(g.conv(x, draw(st.sampled_from([2, 4, 8])), draw(st.sampled_from([1, 3])), bn=False,
                               name=f"n{i}"))
        elif kind == "dw":
            refs.append(g.dwconv(x, 3, bn=False, name=f"n{i}"))
        else:
            same = [r for r in refs if g.shape(r) == g.shape(x)]
            y = draw(st.sampled_from(same))
            refs.append(g.add_tensors([x, y], f"n{i}") if kind == "add" else g.concat([x, y], f"n{i}"))
    return g.build()


@settings(max_examples=60, deadline=None)
@given(random_graphs(), st.sampled_from(["none", "dw", "add", "dw,add,fused-add"]),
       st.sampled_from(["sequential", "optimal"]))
def test_random_graphs_plan_valid_arenas(g, inplace, sched):
    s = M.schedule(g, sched, inplace=inplace)
    assert M.lower_bound(s.plan) <= M.schedule(s.plan, "optimal").peak <= M.schedule(s.plan, "sequential").peak
    for planner in ("greedy", "linear"):
        a = plan_arena(s, planner, 8)
        _assert_valid(a)
        assert a.arena_bytes >= a.peak_bytes == s.peak


# ----------------------------------------------------------------------------- report and CLI
def test_memory_json_arena_keys(cli):
    import json
    r = cli("memory", "mobilenet_v2", "--bits", "8", "--inplace", "dw", "--planner", "greedy", "-f", "json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert d["peak_bytes"] == 1_404_928 and d["planner"] == "greedy" and d["inplace"] == ["dw"]
    assert d["arena_bytes"] >= d["peak_bytes"] and d["fragmentation_bytes"] == d["arena_bytes"] - d["peak_bytes"]
    assert all(set(b) == {"tensor", "offset", "size", "first_use", "last_use"} for b in d["buffers"])
    assert max(b["offset"] + b["size"] for b in d["buffers"]) == d["arena_bytes"]
    plain = json.loads(cli("memory", "mobilenet_v2", "-f", "json").out)
    assert plain["planner"] == "none" and plain["arena_bytes"] is None and plain["inplace"] == []
    assert plain["peak_bytes"] == 6_021_120 and all(b["offset"] is None for b in plain["buffers"])


def test_memory_map_plot_and_text(cli, tmp_path):
    out = tmp_path / "map.png"
    r = cli("memory", "resnet50", "--res", "64", "--inplace", "add", "--planner", "greedy", "--plot", out)
    assert r.code == 0, r.err
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert "in-place kernels: add" in r.out and "greedy arena:" in r.out and "fragmentation" in r.out
    csv = cli("memory", "mobilenet_v2", "--planner", "linear", "-f", "csv").out.splitlines()
    assert csv[0] == "tensor,offset (B),size (B),first_use,last_use,planner,arena_bytes (B),peak_bytes (B)"


@pytest.mark.parametrize("args, message", [
    (["--inplace", "dw,conv"], "unknown in-place option 'conv'"),
    (["--planner", "best"], "Invalid value for '--planner'"),
    (["--align", "0"], "--align must be a positive number of bytes"),
    (["--patches", "0x4"], "patch grid must be ROWSxCOLS"),
    (["--patches", "4x4", "--planner", "greedy"], "combine it with --planner none"),
    (["--patches", "4x4", "--patch-until", "fc"], "--patch-until 'fc' is not a layer of the network"),
    (["--patches", "4x4", "--patch-until", "ir2.add"], "is not a layer of the network"),
    (["--patches", "4x4", "--patch-until", "ir3.dw"], "is not a valid split"),
    (["--res", "64", "--patches", "60x60"], "no layer after which the network can be split for 60x60 patches"),
    (["--patches", "300x300"], "90,000 patches, over the limit of 4,096 patches"),
    (["--patches", "4x4", "--max-overhead", "lots"], "max overhead must be a non-negative percentage"),
    (["--weight-bits", "2"], "Invalid value for '--weight-bits'"),
])
def test_memory_bad_input_is_one_line(cli, args, message):
    r = cli("memory", "mobilenet_v2", *args)
    assert r.code == 2 and message in r.err and "Traceback" not in r.err, r.err
