"""costmodel sweep's new flags: --depth-mult, HxW pairs, --stage-*, --sample with --plot, parquet, --engine."""
import pytest


def test_depth_and_pairs(cli):
    r = cli("sweep", "efficientnet_b0", "--alpha", "1:1.2:0.1", "--depth-mult", "1:1.4:0.2", "--res", "224:256:16",
            "-f", "csv")
    lines = r.out.strip().splitlines()
    assert r.code == 0 and len(lines) == 1 + 27
    assert lines[0].startswith("network,alpha,resolution,depth,height,width,classes")
    r = cli("sweep", "mobilenet_v2", "--res", "320x240,640x480", "-f", "csv")
    head, *rows = r.out.strip().splitlines()
    assert r.code == 0 and "resolution" not in head.split(",") and len(rows) == 2
    assert rows[1].split(",")[head.split(",").index("height")] == "640"


def test_device_latency_with_depth_and_pairs(cli):
    import io
    import pandas as pd
    import costmodel
    from costmodel.roofline import device, predict
    r = cli("sweep", "efficientnet_b0", "--depth-mult", "1,1.2", "--res", "224,256x192", "--device", "pixel1-kryo-1t",
            "-f", "csv")
    assert r.code == 0, r.err
    df = pd.read_csv(io.StringIO(r.out))
    want = predict(costmodel.build("efficientnet_b0", depth=1.2, res=(256, 192)), device("pixel1-kryo-1t"))
    assert len(df) == 4 and df["latency_s"].iloc[3] == pytest.approx(want, rel=1e-12)


def test_parquet_from_the_suffix(cli, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow", reason="the scale extra (pyarrow) is not installed")
    out = tmp_path / "g.parquet"
    r = cli("sweep", "mobilenet_v2", "--alpha", "0.5,1", "--res", "96:128:32", "-o", out, "--chunk-rows", "3")
    assert r.code == 0 and r.out == ""
    df = pd.read_parquet(out)
    assert len(df) == 4 and list(df["resolution"]) == [96, 128, 96, 128]


def test_sample_reports_the_distribution_and_plots_it(cli, tmp_path):
    png = tmp_path / "cdf.png"
    r = cli("sweep", "mobilenet_v2", "--stage-width", "0.5:1.5:0.5", "--stage-kernel", "3,5", "--stages", "2,3",
            "--sample", "40", "--plot", png)
    assert r.code == 0, r.err
    assert "40 points sampled uniformly (seed 0) from 36 points" in r.out and "median" in r.out
    assert "Mult-Adds" in r.out and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args,needle", [
    (["--sample", "5"], "--stage-width"),
    (["--stage-width", "1", "--plot", "x.png"], "--sample N"),
    (["--engine", "dask"], "-o DIR"),
    (["--stage-kernel", "3,x"], "bad --stage-kernel list"),
    (["--depth-mult", "1,1.5", "--stage-depth", "1"], "not --depth-mult"),
    (["--chunk-rows", "0"], "--chunk-rows"),
    (["--stage-width", "0.5,1", "--sample", "3", "--seed", "-1"], "--seed must be a non-negative integer"),
    (["--stage-width", "0.5,1", "--sample", "1000001"], "more than 1,000,000 points"),
])
def test_bad_flags_are_one_line(cli, args, needle):
    r = cli("sweep", "mobilenet_v2", *args)
    assert r.code == 2 and needle in r.err and r.err.count("\n") == 1, r.err


@pytest.mark.parametrize("args,needle", [
    (["--res", "96:300:1", "--alpha", "0.1:1.5:0.01", "--device", "pixel1-kryo-1t"], "the grid has 28,905: narrow"),
    (["--engine", "dask", "-o", "grid.csv"], "not --format csv"),
    (["--engine", "dask", "-o", "grid", "--device", "pixel1-kryo-1t"], "needs the local engine"),
    (["--engine", "dask", "-o", "grid", "--stage-width", "0.5,1", "--sample", "3"], "leave out --engine dask"),
    (["--scheduler", "tcp://10.0.0.5:8786"], "give it with --engine dask"),
    (["--stage-width", "0.5,1", "--sample", "10", "--plot", "cdf.jpgx"], "must end in .png, .svg, .pdf"),
    (["--stage-width", "0.5,1", "--sample", "10", "--plot", "/no/such/dir/cdf.png"], "does not exist"),
    (["--stage-width", "0.5,1", "--sample", "10", "--plot", "-"], "both go to standard output"),
    (["--stage-width", "0.5,1", "--sample", "30000", "--device", "pixel1-kryo-1t"], "--sample asks for 30,000"),
    (["--stage-width", "0.5,1", "--sample", "10", "--device", "pixel1"], "unknown device 'pixel1'"),
    (["--res", "96:4000", "--device", "pixel1"], "unknown device 'pixel1'"),
])
def test_bad_flags_are_told_before_anything_is_computed(cli, monkeypatch, args, needle):
    """A wrong --plot, --device or sample size is one line, exit 2, before the sweep is prepared (a
    sample with --peak or --device takes minutes): preparing one fails the test."""
    import costmodel.sweeps

    def prepared(*a, **k):
        raise AssertionError("the sweep was prepared before its flags were checked")
    monkeypatch.setattr(costmodel.sweeps, "prepare", prepared)
    r = cli("sweep", "mobilenet_v2", *args)
    assert r.code == 2 and needle in r.err and r.err.count("\n") == 1, r.err
    assert "costmodel table also takes a custom roofline" in r.err or "device" not in needle


def test_a_spec_files_bad_alpha_is_told_before_its_first_build(cli, tmp_path, monkeypatch):
    import costmodel.sources
    spec = tmp_path / "v2.yaml"
    assert cli("show", "mobilenet_v2", "-f", "yaml", "-o", spec).code == 0

    def loaded(*a, **k):
        raise AssertionError("a configuration was built before the axes were checked")
    monkeypatch.setattr(costmodel.sources, "load", loaded)
    r = cli("sweep", spec, "--alpha", "0.5:1.5:0.25,-1", "--res", "224,160", "-f", "csv")
    assert r.code == 2 and "alpha must be a positive finite number, got -1.0" in r.err, r.err


def test_device_on_a_stage_space_predicts_each_points_own_graph(cli):
    """Each row's time is its point's: MobileNetV2's own kernel (3) gives the network's time, and
    larger kernels in stage 2 take longer (the stage choices used to be ignored: one time for all)."""
    import io
    import pandas as pd
    import costmodel
    from costmodel.roofline import device, predict
    r = cli("sweep", "mobilenet_v2", "--stage-kernel", "3,5,7", "--stages", "2", "--device", "pixel1-kryo-1t",
            "-f", "csv")
    assert r.code == 0, r.err
    df = pd.read_csv(io.StringIO(r.out))
    t = list(df["latency_s"])
    assert list(df["stage2_kernel"]) == [3, 5, 7] and t[0] < t[1] < t[2]
    assert t[0] == pytest.approx(predict(costmodel.build("mobilenet_v2"), device("pixel1-kryo-1t")), rel=1e-12)
