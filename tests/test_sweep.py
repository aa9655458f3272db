"""The vectorized sweep equals analyze(build()) row by row; ranges; overflow; bad input; fit."""
import json
import random
from decimal import Decimal

import numpy as np
import pytest
import costmodel
from costmodel import registry
from costmodel.errors import CostModelError, GraphError
from costmodel.ops import Conv2d, MaxPool, AvgPool, window_output, window_output_array, resolve_padding, \
    resolve_padding_array
from costmodel.sweeps import SWEEP_KEYS, frange, irange, sweep

KEYS = SWEEP_KEYS


def _check_rows(df, name, rows=None, **knobs):
    for i in (range(len(df)) if rows is None else rows):
        row = df.iloc[i]
        t = costmodel.analyze(costmodel.build(name, alpha=float(row["alpha"]), res=int(row["resolution"]),
                                              **knobs)).totals
        got = {k: int(row[k]) for k in KEYS}
        assert got == {k: t[k] for k in KEYS}, (name, row["alpha"], row["resolution"])


def test_mobilenet_v2_random_sample_equals_analyze():
    rng = random.Random(6)
    alphas = sorted({round(rng.uniform(0.3, 1.5), 4) for _ in range(60)})
    res = sorted({rng.randrange(32, 400) for _ in range(40)} | {97, 161, 223, 225})  # odd ones included
    df = sweep("mobilenet_v2", alphas, res)
    assert len(df) == len(alphas) * len(res)
    assert list(df["alpha"][:len(res)]) == [alphas[0]] * len(res)       # alpha-major
    assert list(df["resolution"][:len(res)]) == res
    assert all(df[k].dtype == np.int64 for k in KEYS)
    _check_rows(df, "mobilenet_v2", rng.sample(range(len(df)), 25))


@pytest.mark.parametrize("name", sorted(registry.networks()))
def test_every_registry_network_agrees(name):
    """Generic over the registry: no per-network formulas in the sweep."""
    net = registry.get(name)
    alphas = list(net.alphas)[:2] if net.alphas else [0.6, 1.0]
    res = [net.default_res, net.default_res + 1]
    _check_rows(sweep(name, alphas, res), name)


@pytest.mark.parametrize("name,knobs", [("shufflenet_v1", {"groups": 8}), ("mobilenet_v1", {"variant": "shallow"}),
                                        ("mobilenet_v2", {"head": "deeplabv3"})])
def test_knobs_and_fallbacks_agree(name, knobs):
    """deeplabv3 upsamples to the input resolution (a block reads ctx.res): the sweep detects it and
    falls back to exact per-configuration runs; the rows still equal analyze()."""
    _check_rows(sweep(name, [0.5, 1.0], [224, 257], **knobs), name, **knobs)


def test_duplicates_and_order_are_kept():
    df = sweep("mobilenet_v1", [1.0, 0.5, 1.0], [160, 128, 160])
    assert list(zip(df["alpha"], df["resolution"]))[:4] == [(1.0, 160), (1.0, 128), (1.0, 160), (0.5, 160)]
    assert df["madds"][0] == df["madds"][2] == df["madds"][6]


def test_huge_resolution_is_exact_not_overflowed():
    """Counts beyond int64 come back as exact Python integers (object columns), never wrapped."""
    r = 2 ** 40 + 3
    df = sweep("mobilenet_v2", [1.0], [224, r])
    t = costmodel.analyze(costmodel.build("mobilenet_v2", res=r)).totals
    assert df["madds"].dtype == object and t["madds"] > 2 ** 63
    assert [int(v) for v in df.iloc[1][list(KEYS)]] == [t[k] for k in KEYS]


def test_layer_that_vanishes_raises_builds_error(monkeypatch):
    from costmodel.spec import NetSpec, blk
    spec = NetSpec("tiny", (blk("conv", c=8, k=7, padding=0), blk("conv", c=8, k=7, padding=0), blk("gap"),
                            blk("fc")), width="divisible8")
    net = registry.Network("tiny_sweep_test", "Tiny", lambda alpha=1.0: spec, "test", "", min_res=8)
    monkeypatch.setitem(registry._REGISTRY, net.name, net)
    assert len(sweep(net.name, [1.0], [13, 20])) == 2
    with pytest.raises(GraphError) as built:
        costmodel.build(net.name, res=12)
    with pytest.raises(GraphError) as swept:
        sweep(net.name, [1.0, 0.5], [20, 12, 30])
    assert str(swept.value) == str(built.value)


def test_counts_between_2_53_and_2_62_take_the_int64_product():
    """Resolutions large enough that a float64 product could round (bounds past 2**53) but below
    2**62: the int64 product, equal to analyze(); constant keys (parameters) too."""
    from costmodel.sweeps.engine import Prepared, Recipe
    from costmodel.sweeps.axes import ResAxis
    res = [224, 50_000, 3_000_000]
    p = Prepared(Recipe("mobilenet_v2", alphas=(1.0,), res=ResAxis.of(res)))
    assert p.dtypes["madds"] == np.int64 and 2 ** 53 < p.bounds["madds"] < 2 ** 62
    df = sweep("mobilenet_v2", [1.0], res)
    for i, r in enumerate(res):
        t = costmodel.analyze(costmodel.build("mobilenet_v2", res=r)).totals
        for key in ("params", "madds", "flops", "mac"):
            assert int(df[key].iloc[i]) == t[key], (r, key)


def test_progress_is_reported():
    seen = []
    sweep("mobilenet_v2", [0.5, 0.75, 1.0], [224], progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1]


def test_peak_column_matches_analyze():
    df = sweep("mobilenet_v2", [0.5], [96, 128], peak=True)
    for r in (96, 128):
        t = costmodel.analyze(costmodel.build("mobilenet_v2", alpha=0.5, res=r)).totals
        assert int(df[df.resolution == r]["peak_activation_bytes"].iloc[0]) == t["peak_activation_bytes"]


def test_vectorized_windows_equal_scalar_formula():
    sizes = np.arange(1, 70)
    for k in (1, 2, 3, 5, 7):
        for s in (1, 2, 3):
            for d in (1, 2):
                for pad in ("same", "valid", (0, 0, 0, 0), (1, 2, 1, 2), (3, 3, 3, 3)):
                    for ceil in (False, True):
                        pa = resolve_padding_array(sizes, k, s, d, pad, 0)
                        got = window_output_array(sizes, k, s, d, pa, ceil)
                        want = [max(window_output(int(n), k, s, d, resolve_padding(int(n), k, s, d, pad, 0), ceil), 0)
                                for n in sizes]
                        assert got.tolist() == want, (k, s, d, pad, ceil)


def test_window_fast_paths_equal_the_formula_and_keep_the_array():
    """Stride-1 axes whose padding spans the window return the input's own array (the memo of the
    shape model relies on it), SAME is ceil(size / s), power-of-two strides shift: all equal to
    the scalar rule, sizes 0 (a vanished map) included."""
    sizes = np.arange(0, 90)
    ops = [Conv2d(4, 3, 1, 1), Conv2d(4, 5, 1, "same"), Conv2d(4, 1, 1, "valid"), Conv2d(4, 3, 1, 0),
           Conv2d(4, 5, 1, "valid"), Conv2d(4, 3, 1, 2, dilation=2),
           Conv2d(4, (3, 5), 1, (1, 1, 2, 2)), Conv2d(4, 3, 4, 1), Conv2d(4, 3, 4, "same"), Conv2d(4, 7, 8, 3),
           Conv2d(4, (1, 3), (1, 2), (0, 0, 1, 0)), MaxPool(3, 1, 1), MaxPool(3, 2, 1, True), AvgPool(2, 2)]
    for op in ops:
        for w in (sizes, sizes + 3):
            oh, ow = op.out_hw(((sizes, w),))
            for i, n in enumerate(sizes):
                want = [max(window_output(int(x), op.kernel[a], op.stride[a], getattr(op, "dilation", (1, 1))[a],
                                          resolve_padding(int(x), op.kernel[a], op.stride[a],
                                                          getattr(op, "dilation", (1, 1))[a], op.padding, a),
                                          getattr(op, "ceil_mode", False)), 0)
                        for a, x in ((0, n), (1, w[i]))]
                assert [int(oh[i]), int(ow[i])] == want, (op, int(n))
    same = Conv2d(4, 3, 1, 1).out_hw(((sizes, sizes),))
    assert same[0] is sizes and same[1] is sizes             # the input's own array, once for a square map
    strided = Conv2d(4, 3, 2, 1).out_hw(((sizes, sizes),))
    assert strided[0] is strided[1]                           # square in, square window: one array out


def test_out_hw_equals_infer_for_windows():
    h = np.arange(5, 40)
    for op in (Conv2d(8, 3, 2, "same"), Conv2d(8, (3, 5), (2, 1), (1, 2)), MaxPool(3, 2, 0, True), AvgPool(3, 2, 1)):
        oh, ow = op.out_hw(((h, h + 1),))
        for i, n in enumerate(h):
            _, ho, wo = op.infer(((8, int(n), int(n) + 1),))[0]
            assert (oh[i], ow[i]) == (ho, wo)


# ----------------------------------------------------------------------------- ranges
def test_decimal_ranges_have_no_float_drift():
    a = frange("0.35:1.4:0.05")
    assert len(a) == 22 and a[0] == 0.35 and a[-1] == 1.4
    assert a == [float(Decimal("0.35") + Decimal("0.05") * k) for k in range(22)]
    assert 0.4 in a and 0.7 in a and 1.15 in a          # 0.35 + 0.05 * 7 would be 0.7000000000000001
    assert frange("0.25,0.5, 1") == [0.25, 0.5, 1.0]
    assert irange("96:224:32") == [96, 128, 160, 192, 224]
    assert irange("128,160:192:16") == [128, 160, 176, 192]


@pytest.mark.parametrize("text", ["0.5:1", "1:0.5:0.1", "0.5:1:0", "a,b", "0.5:1:x", "", "nan"])
def test_bad_ranges(text):
    with pytest.raises(CostModelError):
        frange(text)


def test_fractional_resolution_rejected():
    with pytest.raises(CostModelError, match="integers"):
        irange("96:100:0.5")


# ----------------------------------------------------------------------------- CLI
def _main(args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "costmodel"] + args, capture_output=True, text=True)


def test_cli_sweep_csv_and_json(tmp_path):
    r = _main(["sweep", "mobilenet_v2", "--alpha", "0.35:0.5:0.05", "--res", "96,128", "-f", "csv"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1 + 4 * 2 and lines[0].startswith("network,alpha,resolution")
    assert lines[3].split(",")[1] == "0.4"
    out = tmp_path / "s.json"
    r = _main(["sweep", "mobilenet_v1", "-a", "0.5", "-r", "160", "-f", "json", "-o", str(out)])
    assert r.returncode == 0 and r.stdout == ""
    (row,) = json.loads(out.read_text())
    t = costmodel.analyze(costmodel.build("mobilenet_v1", alpha=0.5, res=160)).totals
    assert row["madds"] == t["madds"] and row["params"] == t["params"]


@pytest.mark.parametrize("args,needle", [
    (["sweep", "mobilenet_v2", "--alpha", "0.5:1"], "START:STOP:STEP"),
    (["sweep", "mobilenet_v2", "--res", "96:x:8"], "resolution"),
    (["sweep", "mobilenet_v2", "-f", "xlsx"], "-o FILE.xlsx"),
    (["fit", "mobilenet_v2", "--max-madds", "150X"], "--max-madds"),
    (["fit", "mobilenet_v2", "--max-peak-memory", "12 parsecs"], "--max-peak-memory"),
    (["sweep", "mobilenet_v2", "--res", "16"], "too small"),
])
def test_cli_bad_input_one_line_exit_2(args, needle):
    r = _main(args)
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and needle in r.stderr and "Traceback" not in r.stderr


def test_units():
    from costmodel.fit import parse_bytes, parse_count
    assert parse_count("150M") == 150_000_000 and parse_count("2.5k") == 2500 and parse_count("1G") == 10 ** 9
    assert parse_bytes("512KB") == 512_000 and parse_bytes("1.5MB") == 1_500_000 and parse_bytes("100") == 100
    assert parse_bytes("512KiB") == 524_288 and parse_bytes("1.5MiB") == 1_572_864
    with pytest.raises(CostModelError, match="K, M, G"):
        parse_count("3Q")


def test_fit_orders_by_published_then_interpolated_then_compute():
    from costmodel.fit import fit
    df = fit("mobilenet_v2", {"madds": 150_000_000})
    assert (df["madds"] <= 150_000_000).all() and len(df) > 5
    basis = list(df["top1_basis"])   # published first, then interpolated (issue 15), each best first
    assert basis == sorted(basis, key=["published", "interpolated", ""].index) and "interpolated" in basis
    for _, part in df[df["top1"].notna()].groupby("top1_basis"):
        assert list(part["top1"]) == sorted(part["top1"], reverse=True)
    pub = df[df["top1_basis"] == "published"].iloc[0]
    assert (pub["alpha"], pub["resolution"], pub["top1"]) == (0.75, 160, 66.4)   # TF-slim release row
    # a grid with no published point: interpolated within range, else ranked by compute
    df = fit("mobilenet_v1", {"params": 10 ** 9}, alphas=[0.3, 3.0], resolutions=[150])
    assert list(df["alpha"]) == [0.3, 3.0] and list(df["top1_basis"]) == ["interpolated", ""]
    assert df["top1"].iloc[1] != df["top1"].iloc[1]  # NaN: 3.0 is beyond the published range, no extrapolation


def test_interpolation_is_linear_in_log_madds():
    from costmodel.accuracy import interpolate
    pts = [(100, 60.0), (400, 70.0)]
    assert interpolate(200, pts) == pytest.approx(65.0)
    assert interpolate(100, pts) == 60.0
    assert interpolate(50, pts) is None and interpolate(500, pts) is None


def test_cli_fit_text():
    r = _main(["fit", "mobilenet_v2", "--max-madds", "60M", "--max-params", "2M"])
    assert r.returncode == 0, r.stderr
    assert "best first" in r.stdout and "published" in r.stdout


# ----------------------------------------------------------------------------- random specs
def _random_spec(rng):
    from costmodel.spec import NetSpec, blk
    blocks = [blk("conv", c=rng.choice([8, 16, 24]), k=rng.choice([3, 4, 5]), s=2,
                  padding=rng.choice([None, "same", "valid", 1]), name="stem")]
    for i in range(rng.randint(2, 5)):
        kind = rng.choice(["dwsep", "ir", "ir_se", "pool", "conv_d", "branch", "valid"])
        if kind == "dwsep":
            blocks.append(blk("dwsep", c=rng.choice([16, 32, 40]), s=rng.choice([1, 2]), k=rng.choice([3, 5])))
        elif kind in ("ir", "ir_se"):
            blocks.append(blk("ir", n=rng.randint(1, 3), t=rng.choice([1, 3, 6]), c=rng.choice([16, 24, 40]),
                              s=rng.choice([1, 2]), k=rng.choice([3, 5]), se=0.25 if kind == "ir_se" else 0.0))
        elif kind == "pool":
            blocks.append(blk("pool", kind=rng.choice(["max", "avg"]), k=rng.choice([2, 3]), s=2,
                              padding=rng.choice([0, 1]), ceil_mode=rng.choice([False, True])))
        elif kind == "valid":  # shrinks the map by 6: small resolutions fail, as build() says
            blocks.append(blk("conv", c=rng.choice([8, 16]), k=7, padding="valid"))
        elif kind == "conv_d":
            blocks.append(blk("conv", c=rng.choice([16, 32]), k=3, dilation=2, padding="same", s=1))
        else:
            blocks.append(blk("conv", c=24, k=1, name=f"a{i}"))
            blocks.append(blk("conv", c=24, k=3, name=f"b{i}"))
            blocks.append(blk(rng.choice(["add", "concat"]), inputs=[f"a{i}", f"b{i}"]))
    blocks += [blk("gap")] if rng.random() < 0.6 else [blk("flatten")]  # flatten: FC params grow with res
    blocks.append(blk("fc"))
    return NetSpec("rnd", tuple(blocks), width=rng.choice(["floor_min8", "divisible8"]))


@pytest.mark.parametrize("seed", range(16))
def test_random_specs_agree_or_fail_like_build(monkeypatch, seed):
    rng = random.Random(seed)
    spec = _random_spec(rng)
    net = registry.Network(f"rnd{seed}", "Random", lambda alpha=1.0: spec, "random test spec", "", min_res=8)
    monkeypatch.setitem(registry._REGISTRY, net.name, net)
    alphas = [round(rng.uniform(0.2, 1.6), 3) for _ in range(3)]
    res = sorted(rng.sample(range(9, 70), 4))
    errors = {}
    for r in res:
        try:
            costmodel.build(net.name, alpha=alphas[0], res=r)
        except CostModelError as e:
            errors[r] = str(e)
    if errors:
        with pytest.raises(CostModelError) as e:
            sweep(net.name, alphas, res)
        assert str(e.value) == errors[min(errors)]
        res = [r for r in res if r not in errors] or [128]
    _check_rows(sweep(net.name, alphas, res), net.name)


@pytest.mark.parametrize("opts", [dict(bits=16, unfused=True), dict(bits=8, zero_copy=True)])
def test_memory_views_agree(opts):
    df = sweep("shufflenet_v2", [0.5, 1.0], [224, 97], **opts)
    for row in df.itertuples():
        t = costmodel.analyze(costmodel.build("shufflenet_v2", alpha=row.alpha, res=int(row.resolution)),
                              **opts).totals
        assert (row.mac, row.mac_bytes) == (t["mac"], t["mac_bytes"])


def test_default_resolution_follows_the_knobs():
    import costmodel as cm
    plain = cm.sweep("mobilenet_v2", alphas=[0.5])
    assert list(plain["resolution"]) == [224]
    assert int(plain["madds"][0]) == cm.analyze(cm.build("mobilenet_v2", alpha=0.5)).totals["madds"]
    ssd = cm.sweep("mobilenet_v2", alphas=[1.0], head="ssdlite")
    assert list(ssd["resolution"]) == [320]


@pytest.mark.parametrize("args,needle", [
    (["--alpha", "1:0:0.1"], "STOP >= START"),
    (["--res", "1:100000000:1"], "more than 10,000,000 values"),
    (["--res", "1:x"], "e.g. 96:224:32"),
])
def test_range_errors_keep_their_specific_message(cli, args, needle):
    r = cli("sweep", "mobilenet_v2", *args)
    assert r.code == 2 and needle in r.err and r.err.count("\n") == 1


def test_scalar_alpha_and_resolution_are_accepted():
    import costmodel as cm
    df = cm.sweep("mobilenet_v2", alphas=0.5, resolutions=160)
    want = cm.analyze(cm.build("mobilenet_v2", alpha=0.5, res=160)).totals["madds"]
    assert len(df) == 1 and int(df["madds"][0]) == want
