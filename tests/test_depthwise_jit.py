"""The compiled depthwise kernel (the ``fast`` extra, numba) against textbook loops and against the
NumPy kernel it replaces: geometries (stride, dilation, asymmetric padding, channel multiplier,
channel counts that are not a multiple of the 16-channel block), fused epilogues, bands of rows
when the workspace is small, and that numba is imported only for graphs that need it."""
import os
import subprocess
import sys

import numpy as np
import pytest

import costmodel
from costmodel import GraphBuilder
from costmodel import executor as ex
from costmodel.executor import init_weights, random_input, run
from costmodel.kernels import base as kernel_base
from costmodel.kernels import conv as conv_kernels
from costmodel.kernels import depthwise_jit
from costmodel.ops import Activation, BatchNorm, Conv2d


@pytest.fixture(params=["numpy", "compiled"])
def kernel_kind(request, monkeypatch):
    """Run the test with the NumPy depthwise kernel, then with the compiled one (skipped without
    numba)."""
    if request.param == "numpy":
        monkeypatch.setattr(conv_kernels, "depthwise", lambda *a: False)
    elif depthwise_jit.kernel() is None:
        pytest.skip("numba is not installed (the fast extra) or COSTMODEL_JIT=0")
    return request.param


def depthwise_direct(x, w, b, stride, pads, dilation, m):
    """Textbook depthwise convolution in float64: output channel o reads input channel o // m."""
    n, c, h, wd = x.shape
    t, bo, left, r = pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (t, bo), (left, r)))
    co, _, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    ho = (h + t + bo - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + left + r - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, co, ho, wo))
    for o in range(co):
        for i in range(kh):
            for j in range(kw):
                out[:, o] += w[o, 0, i, j] * xp[:, o // m, i * dh: i * dh + sh * (ho - 1) + 1: sh,
                                                 j * dw: j * dw + sw * (wo - 1) + 1: sw]
    return out + b[None, :, None, None]


@pytest.mark.parametrize("c,m,k,stride,padding,dilation,hw", [
    (32, 1, 3, 1, 1, 1, (9, 9)),                 # two full blocks
    (20, 1, 3, 2, (0, 1, 0, 1), 1, (15, 17)),    # TF SAME stride 2, a partial block
    (17, 1, 5, 2, 2, 1, (9, 9)),
    (5, 1, 3, 3, (1, 0, 1, 0), 1, (12, 12)),     # stride 3
    (6, 2, (3, 5), (2, 1), (1, 1, 2, 2), (1, 2), (11, 13)),  # multiplier 2, rectangular, dilated
    (3, 1, 7, 1, 3, 1, (4, 5)),                  # kernel larger than the map
    (40, 1, 11, 1, 5, 1, (7, 7)),                # MixNet's largest kernel on a 7x7 map
])
def test_depthwise_matches_direct_loops(kernel_kind, c, m, k, stride, padding, dilation, hw):
    op = Conv2d(c * m, k, stride, padding, dilation, groups=c, bias=True)
    g = GraphBuilder("t", (c,) + hw)
    g.add(op, "input", "op")
    g = g.build()
    w = init_weights(g, 3)
    x = random_input(g, 2, 5)
    got = run(g, x, weights=w, threads=1)  # verify: shapes and Mult-Adds equal the analytic ones
    want = depthwise_direct(x, w["op"]["weight"], w["op"]["bias"], op.stride, op.pads(hw), op.dilation, m)
    np.testing.assert_allclose(got.outputs[0], want, rtol=1e-5, atol=1e-5)


def _dw_bn_act(act, c=24, hw=(10, 10), stride=1):
    g = GraphBuilder("t", (c,) + hw)
    g.add(Conv2d(c, 3, stride, 1, groups=c), "input", "dw")
    g.add(BatchNorm(), "dw", "bn")
    g.add(Activation(act), "bn", "act")
    return g.build()


@pytest.mark.parametrize("act", ["relu", "relu6", "hswish", "swish", "sigmoid"])
def test_fused_epilogue_equals_node_by_node(kernel_kind, act):
    """conv -> BatchNorm -> activation run fused (the BatchNorm folded into the weights, the
    activation in the write-back or after) equals running every node on its own."""
    g = _dw_bn_act(act)
    w = ex.calibrate_batchnorm(g, init_weights(g, 1))
    x = random_input(g, 2, 4) * 3  # spread across the activations' bends (0, 6, -3, 3)
    fused = run(g, x, weights=w, threads=1)
    alone = run(g, x, weights=w, threads=1, keep=True)
    assert [c.counted for c in fused.checks][0] == [c.counted for c in alone.checks][0] == 2 * 24 * 100 * 9
    np.testing.assert_allclose(fused.outputs[0], alone.outputs[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stride", [1, 2])
def test_bands_of_rows_give_the_same_values(kernel_kind, stride, monkeypatch):
    """A workspace too small for the whole padded map: the compiled kernel works band by band of
    output rows (the NumPy kernel tile by tile); values and Mult-Adds are unchanged."""
    g = _dw_bn_act("relu6", c=18, hw=(23, 19), stride=stride)
    w = init_weights(g, 2)
    x = random_input(g, 3, 1)
    whole = run(g, x, weights=w, threads=1)
    monkeypatch.setattr(kernel_base, "MIN_WORKSPACE", 1)
    monkeypatch.setattr(ex, "WORKSPACE_FRACTION", 0.0)
    banded = run(g, x, weights=w, threads=2)
    np.testing.assert_allclose(banded.outputs[0], whole.outputs[0], rtol=1e-6, atol=1e-6)
    assert banded.checks[0].counted == whole.checks[0].counted


def test_compiled_and_numpy_kernels_agree_on_a_zoo_network(monkeypatch):
    """MixNet-S (3x3 to 9x9 kernels, strides 1 and 2, fused BatchNorm and swish) at 64x64."""
    if depthwise_jit.kernel() is None:
        pytest.skip("numba is not installed (the fast extra) or COSTMODEL_JIT=0")
    g = costmodel.build("mixnet_s", res=64)
    w = ex.calibrate_batchnorm(g, init_weights(g, 0))
    x = random_input(g, 1, 0)
    compiled = run(g, x, weights=w, threads=1).outputs[0]
    monkeypatch.setattr(conv_kernels, "depthwise", lambda *a: False)
    plain = run(g, x, weights=w, threads=1).outputs[0]
    np.testing.assert_allclose(compiled, plain, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("mode,loads", [("auto", [False, True, True]), ("1", [True, True, True]),
                                        ("0", [False, False, False])])
def test_which_runs_load_the_compiled_kernel(monkeypatch, mode, loads):
    """COSTMODEL_JIT=auto: from a process's second run of a graph with depthwise convolutions
    (graphs without them neither count nor load); 1: from the first; 0: never."""
    calls = []
    monkeypatch.setattr(depthwise_jit, "kernel", lambda: calls.append(1))
    monkeypatch.setattr(depthwise_jit, "_RUNS", [0])
    monkeypatch.setenv("COSTMODEL_JIT", mode)
    plain, dw = costmodel.build("squeezenet1_1", res=64), costmodel.build("mobilenet_v2", res=32)
    seen = []
    for _ in loads:
        depthwise_jit.prepare(plain)
        depthwise_jit.prepare(dw)
        seen.append(bool(calls))
    assert seen == loads


def test_a_one_off_run_does_not_import_numba():
    """In a real process (auto): no numba for graphs without depthwise convolutions, nor for the
    first run of one with them; loaded at its second run."""
    code = ("import sys, costmodel; from costmodel.executor import execute; "
            "s, m = costmodel.build('squeezenet1_1', res=64), costmodel.build('mobilenet_v2', res=32); "
            "execute(s); execute(s); execute(m); a = 'numba' in sys.modules; execute(m); "
            "print(a, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                         env={**os.environ, "COSTMODEL_JIT": "auto"}).stdout.strip()
    assert out == ("False True" if depthwise_jit.kernel() is not None else "False False")


def test_a_bad_costmodel_jit_is_one_clear_line(cli, monkeypatch):
    monkeypatch.setenv("COSTMODEL_JIT", "fast")
    monkeypatch.setattr(depthwise_jit, "_LOADED", [])
    r = cli("verify", "mobilenet_v2", "--res", "32")
    assert r.code == 2
    assert r.err.strip().count("\n") == 0 and "COSTMODEL_JIT='fast'" in r.err and "accepted" in r.err
