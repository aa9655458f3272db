"""The NumPy reference executor: kernels against direct loops and hand computations, executed
shapes and counted Mult-Adds against the analytical model (hand-picked and random graphs, and every
registry network through the executor), weights and threads; the command is tests/test_verify_cli.py."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import costmodel
from costmodel import CostModelError, GraphBuilder, GraphError
from costmodel import executor as ex
from costmodel.executor import (KERNELS, VerificationError, calibrate_batchnorm, check_weights, execute,
                                init_weights, load_weights, random_input, run, save_weights)
from costmodel.kernels import base as kernel_base
from costmodel.ops import (OP_KINDS, Activation, AvgPool, BatchNorm, ChannelShuffle, Concat, Conv2d, Dropout,
                           Flatten, GlobalAvgPool, Linear, MaxPool, Multiply, Split, Upsample)


def single(op, in_shape, *extra_inputs):
    """A graph applying ``op`` to the input (and to earlier outputs named in extra_inputs)."""
    g = GraphBuilder("t", in_shape)
    g.add(op, ["input", *extra_inputs], "op")
    return g.build()


def conv_direct(x, w, b, stride, pads, dilation, groups):
    """Textbook convolution: loops over batch, output channel, output pixel."""
    n, c, h, wd = x.shape
    co, cg, kh, kw = w.shape
    t, bt, left, r = pads
    xp = np.zeros((n, c, h + t + bt, wd + left + r))
    xp[:, :, t:t + h, left:left + wd] = x
    sh, sw = stride
    dh, dw = dilation
    ho = (h + t + bt - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + left + r - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, co, ho, wo))
    opg = co // groups
    for b_ in range(n):
        for o in range(co):
            g = o // opg
            for i in range(ho):
                for j in range(wo):
                    acc = 0.0
                    for ci in range(cg):
                        for u in range(kh):
                            for v in range(kw):
                                acc += xp[b_, g * cg + ci, i * sh + u * dh, j * sw + v * dw] * w[o, ci, u, v]
                    out[b_, o, i, j] = acc + (b[o] if b is not None else 0.0)
    return out


def conv_pixels(x, w, stride, pads, dilation, groups):
    """Convolution by a loop over output pixels: each one a contraction of its dilated window
    with the weights, group by group."""
    n, _c, h, wd = x.shape
    co, cg, kh, kw = w.shape
    t, b, left, r = pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (t, b), (left, r)))
    ho = (h + t + b - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + left + r - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, co, ho, wo))
    wg = w.reshape(groups, co // groups, cg, kh, kw)
    for i in range(ho):
        for j in range(wo):
            y0, x0 = i * stride[0], j * stride[1]
            (dy, dx) = dilation
            win = xp[:, :, y0:y0 + dy * (kh - 1) + 1:dy, x0:x0 + dx * (kw - 1) + 1:dx]
            out[:, :, i, j] = np.einsum("ngcuv,gocuv->ngo", win.reshape(n, groups, cg, kh, kw), wg).reshape(n, co)
    return out


# ----------------------------------------------------------------------------- convolution
@pytest.mark.parametrize("c_in,c_out,k,stride,padding,dilation,groups", [
    (3, 4, 3, 1, 1, 1, 1),            # plain 3x3
    (3, 4, 3, 2, (0, 1, 0, 1), 1, 1),  # TF-style asymmetric padding, stride 2
    (4, 6, 3, 1, 2, 2, 2),            # grouped and dilated
    (6, 6, 3, 2, 1, 1, 6),            # depthwise, stride 2
    (4, 8, (3, 5), (2, 1), (1, 1, 2, 2), (1, 2), 4),  # depthwise with multiplier 2, rectangular
    (4, 6, 1, 2, 0, 1, 2),            # grouped 1x1 with stride
    (4, 5, 1, 1, 1, 1, 1),            # 1x1 with padding
    (1, 3, 3, 1, 1, 1, 1),            # a single input channel
])
def test_conv_matches_direct_loops(c_in, c_out, k, stride, padding, dilation, groups):
    op = Conv2d(c_out, k, stride, padding, dilation, groups, bias=True)
    g = single(op, (c_in, 7, 6))
    w = init_weights(g, 3)
    x = random_input(g, 2, 5)
    got = execute(g, x, weights=w)
    want = conv_direct(x.astype(np.float64), w["op"]["weight"], w["op"]["bias"], op.stride,
                       op.pads((7, 6)), op.dilation, groups)
    assert got.shape == want.shape == (2,) + g.output_shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_conv_3x3_known_values():
    # all-ones 3x3 kernel over 0..15 in a 4x4 grid, padding 1: each output is its 3x3 neighbourhood sum
    g = single(Conv2d(1, 3, 1, 1), (1, 4, 4))
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    y = execute(g, x, weights={"op": {"weight": np.ones((1, 1, 3, 3))}})
    assert y[0, 0].tolist() == [[10, 18, 24, 18], [27, 45, 54, 39], [51, 81, 90, 63], [42, 66, 72, 50]]


@pytest.mark.parametrize("op", [
    Conv2d(8, 3, 2, 1, groups=2),         # im2col: one output row per tile
    Conv2d(8, (3, 2), 1, (1, 1, 0, 1), groups=4, bias=True),  # depthwise x2: one channel per tile
    MaxPool(3, 2, 1, ceil_mode=True),
    AvgPool(3, 2, 1, count_include_pad=False),
])
def test_tiny_workspace_gives_same_values_and_madds(op, monkeypatch):
    g = single(op, (4, 20, 20))
    x = random_input(g, 3)
    whole = run(g, x, threads=1)
    monkeypatch.setattr(kernel_base, "MIN_WORKSPACE", 1)
    monkeypatch.setattr(ex, "WORKSPACE_FRACTION", 0.0)
    for threads in (1, 2):
        tiled = run(g, x, threads=threads)
        np.testing.assert_allclose(tiled.outputs[0], whole.outputs[0], rtol=1e-6, atol=1e-6)
        assert tiled.checks[0].counted == whole.checks[0].counted == 3 * g.nodes[0].op.madds(
            g.nodes[0].in_shapes, g.nodes[0].out_shapes)


def test_linear_and_batchnorm_formulas():
    g = GraphBuilder("t", (3, 2, 2))
    g.add(BatchNorm(), "input", "bn")
    g.add(Flatten(), "bn", "flat")
    g.add(Linear(5), "flat", "fc")
    g = g.build()
    w = init_weights(g, 2)
    x = random_input(g, 4)
    bn = w["bn"]
    y = (x - bn["running_mean"][:, None, None]) / np.sqrt(bn["running_var"][:, None, None] + 1e-5) \
        * bn["weight"][:, None, None] + bn["bias"][:, None, None]
    want = y.reshape(4, 12) @ w["fc"]["weight"].T + w["fc"]["bias"]
    np.testing.assert_allclose(execute(g, x, weights=w), want, rtol=1e-5, atol=1e-5)
    assert run(g, x).checks[-1].counted == 4 * 12 * 5


@pytest.mark.parametrize("fn,values", [
    ("relu", [0, 0, 0, 1, 7]),
    ("relu6", [0, 0, 0, 1, 6]),
    ("hsigmoid", [0, 0, 0.5, 4 / 6, 1]),
    ("hswish", [0, 0, 0, 4 / 6, 7]),
    ("sigmoid", [1 / (1 + np.exp(4)), 1 / (1 + np.exp(3)), 0.5, 1 / (1 + np.exp(-1)), 1 / (1 + np.exp(-7))]),
    ("swish", [-4 / (1 + np.exp(4)), -3 / (1 + np.exp(3)), 0, 1 / (1 + np.exp(-1)), 7 / (1 + np.exp(-7))]),
])
def test_activation_values(fn, values):
    g = single(Activation(fn), (5,))
    x = np.array([[-4, -3, 0, 1, 7]], np.float32)
    np.testing.assert_allclose(execute(g, x)[0], values, rtol=1e-6, atol=1e-7)


def test_sigmoid_is_finite_for_large_inputs():
    g = single(Activation("sigmoid"), (2,))
    assert execute(g, np.array([[-1000, 1000]], np.float32))[0].tolist() == [0.0, 1.0]


# ----------------------------------------------------------------------------- pooling
def test_maxpool_ceil_mode_keeps_partial_windows():
    x = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5)
    floor = execute(single(MaxPool(2, 2), (1, 5, 5)), x)
    ceil = execute(single(MaxPool(2, 2, ceil_mode=True), (1, 5, 5)), x)
    assert floor[0, 0].tolist() == [[6, 8], [16, 18]]
    assert ceil[0, 0].tolist() == [[6, 8, 9], [16, 18, 19], [21, 23, 24]]


def test_maxpool_pads_with_minus_infinity():
    x = -np.ones((1, 1, 2, 2), np.float32)
    y = execute(single(MaxPool(3, 1, 1), (1, 2, 2)), x)
    assert y[0, 0].tolist() == [[-1, -1], [-1, -1]]


def test_avgpool_ceil_mode_divisors_as_pytorch():
    # H = W = 4, k 3, s 2, pad 1, ceil: windows [-1, 2), [1, 4), [3, 6) clipped to the padded [-1, 5):
    # sums of ones 2, 3, 1 over divisors 3, 3, 2 (count_include_pad) or 2, 3, 1 (exclude)
    x = np.ones((1, 1, 4, 4), np.float32)
    inc = execute(single(AvgPool(3, 2, 1, ceil_mode=True), (1, 4, 4)), x)[0, 0]
    s, d = np.array([2, 3, 1]), np.array([3, 3, 2])
    np.testing.assert_allclose(inc, np.outer(s, s) / np.outer(d, d), rtol=1e-6)
    exc = execute(single(AvgPool(3, 2, 1, ceil_mode=True, count_include_pad=False), (1, 4, 4)), x)[0, 0]
    np.testing.assert_allclose(exc, np.ones((3, 3)), rtol=1e-6)


def test_global_avgpool():
    x = random_input(single(GlobalAvgPool(), (3, 5, 4)), 2)
    y = execute(single(GlobalAvgPool(), (3, 5, 4)), x)
    np.testing.assert_allclose(y, x.mean(axis=(2, 3), keepdims=True), rtol=1e-6)


# ----------------------------------------------------------------------------- data movement
def test_channel_shuffle_order():
    x = np.broadcast_to(np.arange(6, dtype=np.float32)[None, :, None, None], (1, 6, 2, 2)).copy()
    y = execute(single(ChannelShuffle(2), (6, 2, 2)), x)
    assert y[0, :, 0, 0].tolist() == [0, 3, 1, 4, 2, 5]
    y = execute(single(ChannelShuffle(3), (6, 2, 2)), x)
    assert y[0, :, 0, 0].tolist() == [0, 2, 4, 1, 3, 5]


def test_bilinear_upsample_by_hand():
    # align_corners=False: src = (dst + 0.5) / 2 - 0.5, clamped at 0 -> weights 0, .25, .75, 1 between rows
    x = np.array([[[[1, 2], [3, 4]]]], np.float32)
    y = execute(single(Upsample((4, 4)), (1, 2, 2)), x)
    assert y[0, 0].tolist() == [[1.0, 1.25, 1.75, 2.0], [1.5, 1.75, 2.25, 2.5],
                                [2.5, 2.75, 3.25, 3.5], [3.0, 3.25, 3.75, 4.0]]


def test_nearest_upsample_by_hand():
    x = np.arange(3, dtype=np.float32).reshape(1, 1, 1, 3)
    y = execute(single(Upsample((2, 5), "nearest"), (1, 1, 3)), x)
    assert y[0, 0].tolist() == [[0, 0, 1, 1, 2]] * 2  # floor(dst * 3 / 5)


def test_split_concat_multiply_add_flatten_dropout():
    g = GraphBuilder("t", (6, 3, 2))
    a, b = g.add(Split((2, 4)), "input", "split"), "split:1"
    gate = g.add(GlobalAvgPool(), b, "pool")
    m = g.add(Multiply(), [b, gate], "se")
    c = g.add(Concat(), [m, a], "cat")
    s = g.add(costmodel.ops.Add(), [c, c, "input"], "sum3")
    d = g.add(Dropout(0.5), s, "drop")
    g.add(Flatten(), d, "flat")
    g = g.build()
    x = random_input(g, 2)
    y, t = execute(g, x, return_intermediates=True)
    gated = x[:, 2:] * x[:, 2:].mean(axis=(2, 3), keepdims=True)
    cat = np.concatenate([gated, x[:, :2]], axis=1)
    np.testing.assert_allclose(y, (2 * cat + x).reshape(2, 36), rtol=1e-6)
    assert set(t) == {"input", "split:0", "split:1", "pool", "se", "cat", "sum3", "drop", "flat"}
    np.testing.assert_array_equal(t["split:0"], x[:, :2])


# ----------------------------------------------------------------------------- API and safety
def test_every_op_kind_has_a_kernel():
    # "unsupported" marks imported ops costmodel does not model: running one must fail loudly
    assert set(OP_KINDS) - set(KERNELS) <= {"unsupported"}
    if "unsupported" in OP_KINDS:
        g = single(OP_KINDS["unsupported"](op_type="Foo"), (3, 4, 4))
        with pytest.raises(GraphError, match="no kernel for op kind 'unsupported'"):
            execute(g)


def test_input_and_shared_tensors_are_never_overwritten():
    g = GraphBuilder("t", (4, 5, 5))
    d = g.add(Dropout(), "input", "drop")  # a view of the caller's array
    r = g.add(Activation("relu"), d, "relu")
    bn = g.add(BatchNorm(), r, "bn")
    a = g.add(Activation("hswish"), bn, "act")   # bn dies here: may be overwritten
    g.add_tensors([a, bn, r], "add")              # ... but it does not: bn is read again here
    g = g.build()
    x = random_input(g, 2)
    x0 = x.copy()
    fast = execute(g, x)
    kept, t = execute(g, x, return_intermediates=True)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(fast, kept)
    np.testing.assert_allclose(kept, t["act"] + t["bn"] + np.maximum(x0, 0), rtol=1e-6)


def test_batch_is_independent_samples():
    g = costmodel.build("mobilenet_v2", alpha=0.35, res=32)
    x = random_input(g, 3, 1)
    y = execute(g, x)
    np.testing.assert_allclose(y[1:2], execute(g, x[1:2]), rtol=1e-5, atol=1e-5 * float(np.abs(y).max()))


def test_multiple_outputs_and_bad_input():
    gb = GraphBuilder("two", (4, 3, 3))
    gb.add(Split((1, 3)), "input", "s")
    g = gb.build(["s:1", "s:0"])
    y = execute(g, random_input(g, 1))
    assert isinstance(y, tuple) and [a.shape for a in y] == [(1, 3, 3, 3), (1, 1, 3, 3)]
    with pytest.raises(GraphError, match=r"input has shape \(1, 4, 3\); graph 'two' expects"):
        execute(g, np.zeros((1, 4, 3), np.float32))


def test_weights_deterministic_and_checked():
    g = costmodel.build("mobilenet_v1", alpha=0.25, res=32)
    w0, w1 = init_weights(g, 0), init_weights(g, 0)
    assert all(np.array_equal(w0[k][a], w1[k][a]) for k in w0 for a in w0[k])
    assert not np.array_equal(init_weights(g, 1)["conv0"]["weight"], w0["conv0"]["weight"])
    assert w0["conv0"]["weight"].shape == (8, 3, 3, 3) and w0["conv0"]["weight"].dtype == np.float32
    assert set(w0["conv0.bn"]) == {"weight", "bias", "running_mean", "running_var"}
    bad = dict(w0, conv0={**w0["conv0"], "weight": np.zeros((8, 3, 3, 1))})
    with pytest.raises(GraphError, match=r"layer 'conv0' weight has shape \(8, 3, 3, 1\), expected \(8, 3, 3, 3\)"):
        check_weights(g, bad)
    missing = {k: v for k, v in w0.items() if k != "conv0.bn"}
    with pytest.raises(GraphError, match="layer 'conv0.bn' is missing"):
        execute(g, weights=missing)
    with pytest.raises(GraphError, match="layer 'nope'"):
        check_weights(g, dict(w0, nope={}))


def test_weights_npz_round_trip(tmp_path):
    g = costmodel.build("mobilenet_v2", alpha=0.35, res=32)
    w = init_weights(g, 4)
    path = tmp_path / "w.npz"
    save_weights(str(path), w)
    back = load_weights(str(path))
    assert set(back) == set(w) and all(np.array_equal(back[k][a], w[k][a]) for k in w for a in w[k])
    x = random_input(g)
    np.testing.assert_array_equal(execute(g, x, weights=back), execute(g, x, weights=w))
    with pytest.raises(CostModelError, match="no such file"):
        load_weights(str(tmp_path / "missing.npz"))
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(CostModelError, match="not an .npz weights file"):
        load_weights(str(tmp_path / "junk.npz"))
    (tmp_path / "junk.npz").unlink()
    with pytest.raises(CostModelError, match="does not exist"):
        save_weights(str(tmp_path / "no" / "w.npz"), w)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.npz"]


def test_calibrated_batchnorm_centres_its_input():
    g = GraphBuilder("t", (3, 6, 6))
    g.conv("input", 5, 3, name="c")
    g = g.build()
    x = random_input(g, 4, 2) * 7 + 3
    w = init_weights(g)
    cal = calibrate_batchnorm(g, w, x)
    assert not np.array_equal(cal["c.bn"]["running_mean"], w["c.bn"]["running_mean"])  # the input is untouched
    y, t = execute(g, x, weights=cal, return_intermediates=True)
    conv = t["c"].astype(np.float64)
    np.testing.assert_allclose(cal["c.bn"]["running_mean"], conv.mean(axis=(0, 2, 3)), rtol=1e-5)
    var = conv.var(axis=(0, 2, 3))
    np.testing.assert_allclose(cal["c.bn"]["running_var"], var + 0.1 * var.mean() + 1e-3, rtol=1e-5)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), w["c.bn"]["bias"], atol=1e-5)  # output mean = beta


def test_lazy_exports():
    assert costmodel.execute is execute and costmodel.init_weights is init_weights


# ----------------------------------------------------------------------------- verification
def test_wrong_analytical_shape_is_reported(monkeypatch):
    monkeypatch.setattr(MaxPool, "infer", lambda self, ins: ((ins[0][0], 5, 5),))  # a wrong formula
    g = single(MaxPool(3, 2), (4, 9, 9))
    monkeypatch.undo()
    with pytest.raises(VerificationError, match=r"node 'op' \(maxpool: kernel=\(3, 3\).*executed shape "
                                                r"\(4, 4, 4\) != analytical \(4, 5, 5\)"):
        execute(g)
    e = run(g, raise_on_mismatch=False)
    assert e.stopped_at == "op" and not e.ok


def test_wrong_analytical_madds_is_reported(monkeypatch):
    g = single(Conv2d(4, 3, 1, 1), (2, 5, 5))
    monkeypatch.setattr(Conv2d, "madds", lambda self, ins, outs: 7)
    with pytest.raises(VerificationError, match="counted 1800 Mult-Adds per sample != analytical 7"):
        execute(g)


conv_cases = st.builds(
    dict,
    c_per_group=st.integers(1, 4), groups=st.integers(1, 4), out_per_group=st.integers(1, 3),
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)), s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    pad=st.one_of(st.just("same"), st.just("valid"), st.tuples(*[st.integers(0, 2)] * 4)),
    hw=st.tuples(st.integers(8, 12), st.integers(8, 12)), bias=st.booleans(),
    pool=st.sampled_from(["max", "avg", "avg_excl", None]), ceil=st.booleans(),
    bn=st.booleans(), act=st.sampled_from([None, "relu6", "hswish", "swish"]),
    threads=st.integers(1, 2), tiny_workspace=st.booleans(),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_cases, st.integers(1, 2))
def test_random_graphs_shapes_and_madds_equal(case, batch):
    """Random conv (+ BatchNorm, activation, pool) graphs: node by node (``keep``) every shape and
    the conv's Mult-Adds equal the analytical ones and the conv equals a loop over output pixels;
    the fused, tiled run (epilogues in the conv kernel, 1 or 2 threads, tiles of one channel or
    row when the workspace is tiny) gives the same output and counts."""
    c_in = case["c_per_group"] * case["groups"]
    g = GraphBuilder("rand", (c_in,) + case["hw"])
    y = g.add(Conv2d(case["out_per_group"] * case["groups"], case["k"], case["s"], case["pad"], case["d"],
                     case["groups"], case["bias"]), "input", "conv")
    if case["bn"]:
        y = g.add(BatchNorm(), y, "bn")
    if case["act"]:
        y = g.add(Activation(case["act"]), y, "act")
    if case["pool"] and min(g.shape(y)[1:]) >= 2:
        kind = MaxPool if case["pool"] == "max" else AvgPool
        extra = {"count_include_pad": False} if case["pool"] == "avg_excl" else {}
        y = g.add(kind(2, 2, (0, 1, 0, 1) if case["pool"] == "max" else 1, case["ceil"], **extra), y, "pool")
    g.add(GlobalAvgPool(), y, "gap")
    g.add(Flatten(), "gap", "flat")
    g.add(Linear(3), "flat", "fc")
    graph = g.build()
    x = random_input(graph, batch)
    w = init_weights(graph)
    e = run(graph, x, weights=w, keep=True, raise_on_mismatch=False)
    assert e.ok, [c.describe(graph.node(c.name).op) for c in e.mismatches]
    assert [c.actual for c in e.checks] == [n.out_shapes for n in graph.nodes]
    conv = e.checks[0]
    assert conv.counted == batch * conv.madds > 0
    op = graph.nodes[0].op
    want = conv_pixels(x, w["conv"]["weight"], op.stride, op.pads(case["hw"]), op.dilation, op.groups)
    if op.bias:
        want += w["conv"]["bias"][:, None, None]
    np.testing.assert_allclose(e.tensors["conv"], want, rtol=1e-5, atol=1e-5)
    workspace = {"WORKSPACE_FRACTION": 0.0} if case["tiny_workspace"] else {}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in workspace.items():
            mp.setattr(ex, k, v)
            mp.setattr(kernel_base, "MIN_WORKSPACE", 1)
        fast = run(graph, x, weights=w, threads=case["threads"])
    assert fast.ok and [c.counted for c in fast.checks] == [c.counted for c in e.checks]
    np.testing.assert_allclose(fast.outputs[0], e.outputs[0], rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- fusion, schedules, memory
#: networks covering every fused pattern: conv+BN+act, SE gates (hsigmoid, multiply), add+relu,
#: split/concat/shuffle, mixed kernels, inception branches, avg/max pools
NETS = ["mobilenet_v3_large", "resnet50", "shufflenet_v2", "mixnet_s", "googlenet"]


@pytest.mark.parametrize("name", NETS)
def test_fused_run_equals_node_by_node_run(name, monkeypatch):
    """The fast path (units of the memory plan fused, tiles, threads, either schedule) computes
    what running every node on its own computes; every BatchNorm the plan folds never runs its
    own kernel."""
    from costmodel.memory import plan
    g = costmodel.build(name, res=max(64, costmodel.networks()[name].min_res))
    w = calibrate_batchnorm(g, init_weights(g))
    x = random_input(g, 2, 1)
    ref = run(g, x, weights=w, keep=True)
    calls = []
    real = KERNELS["batchnorm"]
    monkeypatch.setitem(KERNELS, "batchnorm", lambda op, ins, ctx: calls.append(1) or real(op, ins, ctx))
    folded = {m for u in plan(g).units for m in u.nodes[1:] if g.node(m).op.kind == "batchnorm"}
    readers = g.consumers()  # and a BatchNorm that is a concat's only reader is the concat's epilogue
    folded |= {r[0] for n in g.nodes if n.op.kind == "concat" and len(r := readers.get(n.outputs[0], [])) == 1
               and g.node(r[0]).op.kind == "batchnorm"}
    n_bn = sum(n.op.kind == "batchnorm" for n in g.nodes)
    assert len(folded) <= n_bn and (folded or name == "googlenet")  # GoogLeNet (2014) has no BatchNorm
    if name == "mixnet_s":  # every mixed depthwise convolution ends in a concat and its BatchNorm
        assert sum(g.node(b).op.kind == "batchnorm" and b not in {m for u in plan(g).units for m in u.nodes[1:]}
                   for b in folded) > 10
    for threads, schedule in [(1, "sequential"), (2, "optimal")]:
        calls.clear()
        fast = run(g, x, weights=w, threads=threads, schedule=schedule)
        assert fast.ok and len(fast.checks) == len(g)
        parts = min(threads, x.shape[0])  # several threads: the batch split into parts run side by side
        assert len(calls) == (n_bn - len(folded)) * parts
        assert sorted(c.counted for c in fast.checks) == sorted(c.counted for c in ref.checks)
        scale = float(np.abs(ref.outputs[0]).max())
        np.testing.assert_allclose(fast.outputs[0], ref.outputs[0], rtol=0, atol=1e-4 * scale)


def test_optimal_schedule_runs_units_in_the_memory_models_order():
    from costmodel.memory import schedule
    g = costmodel.build("xception", res=71)  # its lowest-peak order is not the definition order
    s = schedule(g, "optimal")
    heads = [s.plan.units[u].name for u in s.order]
    assert heads != [u.name for u in s.plan.units]
    x, w = random_input(g), calibrate_batchnorm(g, init_weights(g))
    e = run(g, x, weights=w, schedule="optimal", threads=1)
    assert [c.name for c in e.checks if c.name in set(heads)] == heads and e.ok and len(e.checks) == len(g)
    want = execute(g, x, weights=w, threads=1)
    np.testing.assert_allclose(e.outputs[0], want, rtol=0, atol=1e-5 * float(np.abs(want).max()))
    with pytest.raises(CostModelError, match="unknown schedule 'streamed'; the executor follows: sequential, "
                                             "optimal"):
        run(g, schedule="streamed")


@pytest.mark.parametrize("name", ["mobilenet_v2", "shufflenet_v2", "mobilenet_v3_large"])
def test_peak_memory_within_one_and_a_half_analytic_peaks(name):
    """tracemalloc's peak of what a run allocates, plus the caller's input (held to the end), is at
    most 1.5 x the analytic optimal peak at 224 x 224 (the executor frees each tensor after its
    last reader and bounds its kernels' temporaries by a quarter of the analytic peak). On one
    thread the batch runs as one sequence of nodes, which holds at least the optimal live set; on
    two, each sample runs on its own thread, and the two need not reach their peaks at the same
    moment (the compiled depthwise kernel releases the GIL), so that run holds at least one
    sample's optimal peak and its input."""
    import tracemalloc
    from costmodel.memory import schedule
    g = costmodel.build(name)
    w = init_weights(g)
    x = random_input(g, 2)
    optimal = schedule(g, "optimal").peak * 4 * 2
    for _ in range(2):  # warm: a process loads the compiled depthwise kernel at its second run (auto)
        execute(g, x, weights=w, threads=1)
    for threads, least in ((1, optimal), (2, optimal / 2 + x.nbytes / 2)):
        tracemalloc.start()
        try:
            execute(g, x, weights=w, threads=threads)
            peak = tracemalloc.get_traced_memory()[1] + x.nbytes
        finally:
            tracemalloc.stop()
        assert least < peak <= 1.5 * optimal, threads


def test_api_misuse_is_a_costmodel_error(tmp_path):
    import costmodel as cm
    g = cm.build("mobilenet_v2", res=32)
    with pytest.raises(cm.GraphError, match="numeric array"):
        cm.execute(g, "hello")
    with pytest.raises(cm.CostModelError, match="takes a file path and a mapping"):
        cm.save_weights({}, str(tmp_path / "w.npz"))
    not_npz = tmp_path / "w.yaml"
    not_npz.write_text("blocks: []\n")
    with pytest.raises(cm.CostModelError, match="not a zip archive"):
        cm.load_weights(str(not_npz))


def test_a_batch_on_several_threads_is_split_and_joined_exactly():
    """threads=3 on a batch of 5: parts of 2, 2 and 1 samples run side by side; the outputs equal a
    one-thread run's sample by sample, each node's counted Mult-Adds is the whole batch's, and a
    mismatch in any part is still reported."""
    g = costmodel.build("mobilenet_v2", alpha=0.35, res=64)
    w = calibrate_batchnorm(g, init_weights(g))
    x = random_input(g, 5, 3)
    one, split = run(g, x, weights=w, threads=1), run(g, x, weights=w, threads=3)
    assert split.ok and len(split.checks) == len(one.checks) == len(g)
    assert [(c.name, c.counted, c.batch) for c in split.checks] == [(c.name, c.counted, c.batch) for c in one.checks]
    assert all(c.batch == 5 for c in split.checks)
    scale = float(np.abs(one.outputs[0]).max())
    np.testing.assert_allclose(split.outputs[0], one.outputs[0], rtol=0, atol=1e-5 * scale)
    assert split.outputs[0].shape == (5, 1000)


def test_a_mismatch_in_a_split_batch_is_reported(monkeypatch):
    real = Conv2d.madds
    monkeypatch.setattr(Conv2d, "madds", lambda self, ins, outs: real(self, ins, outs) + (self.groups > 1))
    g = costmodel.build("mobilenet_v1", alpha=0.25, res=32)   # analytical counts off by one per depthwise conv
    ex_ = run(g, random_input(g, 4, 0), threads=2, raise_on_mismatch=False)
    assert not ex_.ok and len(ex_.mismatches) == 13 and all(c.batch == 4 for c in ex_.mismatches)
    with pytest.raises(VerificationError, match="Mult-Adds per sample"):
        run(g, random_input(g, 4, 0), threads=2)


def test_blas_uses_no_more_threads_than_the_run(monkeypatch):
    """threads=N bounds NumPy's BLAS too (threadpoolctl) during the run, and restores it after."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    if not before:
        pytest.skip("NumPy reports no BLAS library to threadpoolctl")
    seen = []
    real = KERNELS["conv2d"]
    monkeypatch.setitem(KERNELS, "conv2d", lambda op, ins, ctx: seen.append(
        [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]) or real(op, ins, ctx))
    g = costmodel.build("mobilenet_v1", alpha=0.25, res=32)
    run(g, random_input(g, 1, 0), threads=1)
    assert seen and all(t == [1] * len(before) for t in seen)
    assert [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"] == before
