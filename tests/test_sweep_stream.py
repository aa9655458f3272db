"""Streaming sweeps: every writer reads back equal to the in-memory frame, chunk by chunk, exact past
2**63 (Parquet decimals), atomically; the Dask engine on a local cluster started by the test."""
import json
import os

import numpy as np
import pandas as pd
import pytest

import costmodel
from costmodel.errors import CostModelError
from costmodel.sweeps import sweep, sweep_to

GRID = dict(name="mobilenet_v2", alphas=[0.5, 1.0], resolutions=[96, 129, (200, 150)], depth=[1.0, 1.4])


def _frame():
    return sweep(GRID["name"], GRID["alphas"], GRID["resolutions"], depth=GRID["depth"])


def _stream(tmp_path, suffix, **kw):
    path = str(tmp_path / f"out{suffix}")
    out = sweep_to(path, GRID["name"], GRID["alphas"], GRID["resolutions"], depth=GRID["depth"], chunk_rows=2, **kw)
    # 4 configurations x 2 slices of 3 resolutions, the first slice cut in two (writing starts early)
    assert out["rows"] == 12 and out["chunks"] == 9
    return path


def _same(df, ref):
    assert list(df.columns) == list(ref.columns)
    for c in ref.columns:
        got = [str(v) for v in df[c]] if c in ("network", "head", "feature") else [v for v in df[c]]
        want = [str(v) for v in ref[c]] if c in ("network", "head", "feature") else [v for v in ref[c]]
        assert got == want, c


def test_short_head_cuts_the_first_chunk_and_keeps_the_rest():
    from costmodel.sweeps.writers import _short_head
    # one configuration's slice of resolutions: cut at a quarter of its resolutions
    assert _short_head([(0, 1, 0, 100), (0, 1, 100, 200)]) == [(0, 1, 0, 25), (0, 1, 25, 100), (0, 1, 100, 200)]
    # several configurations spanning every resolution: cut between configurations
    assert _short_head([(0, 8, 0, 50), (8, 10, 0, 50)]) == [(0, 2, 0, 50), (2, 8, 0, 50), (8, 10, 0, 50)]
    assert _short_head([(0, 2, 0, 5)]) == [(0, 1, 0, 5), (1, 2, 0, 5)]
    assert _short_head([(3, 4, 7, 8)]) == [(3, 4, 7, 8)]  # one row: nothing to cut
    assert _short_head([]) == []


def test_csv_stream_equals_frame(tmp_path):
    df = pd.read_csv(_stream(tmp_path, ".csv"))
    _same(df, _frame())


def test_jsonl_and_json_streams(tmp_path):
    ref = _frame()
    rows = [json.loads(line) for line in open(_stream(tmp_path, ".jsonl"))]
    assert len(rows) == 12 and rows[3]["madds"] == int(ref["madds"][3]) and rows[3]["alpha"] == 0.5
    text = open(_stream(tmp_path, ".json")).read()
    from costmodel.render import frame_rows
    assert text == json.dumps(frame_rows(ref), indent=2) + "\n"   # the format -f json always printed


def test_parquet_stream_equals_frame(tmp_path):
    pytest.importorskip("pyarrow", reason="the scale extra (pyarrow) is not installed")
    df = pd.read_parquet(_stream(tmp_path, ".parquet"))
    _same(df, _frame())
    assert df["madds"].dtype == np.int64


def test_run_columns_are_the_numeric_columns_of_long_runs():
    pa = pytest.importorskip("pyarrow", reason="the scale extra (pyarrow) is not installed")
    from costmodel.sweeps.writers import RUN_ROWS, run_columns
    n = 4 * RUN_ROWS
    t = pa.table({"const": np.full(n, 7, np.int64),
                  "four_changes": np.arange(n, dtype=np.int64) // (RUN_ROWS - 1),  # 4 in 256 rows: the limit
                  "five_changes": np.arange(n, dtype=np.int64) // (RUN_ROWS - 14),  # 5: one too many
                  "alpha": np.full(n, 0.5),
                  "rising": np.arange(n, dtype=np.int64),
                  "name": pa.array(["mobilenet_v2"] * n).dictionary_encode(),
                  "flag": np.zeros(n, bool)})
    assert run_columns(t) == ["const", "four_changes", "alpha"]
    assert run_columns(t.slice(0, 1)) == []  # one row says nothing


def test_parquet_writes_runs_as_plain_lz4_and_counts_as_delta_zstd(tmp_path):
    """A grid of one alpha and many resolutions: the columns of the configuration (alpha, params,
    classes, ...) are runs, written plain and LZ4-compressed (Parquet's LZ4_RAW codec); the counts
    that follow the resolution keep delta encoding and zstd; the values read back exact."""
    pq = pytest.importorskip("pyarrow.parquet", reason="the scale extra (pyarrow) is not installed")
    path = str(tmp_path / "runs.parquet")
    sweep_to(path, "mobilenet_v2", [0.75], range(96, 96 + 300), chunk_rows=100)
    meta = pq.ParquetFile(path).metadata
    cols = {meta.row_group(1).column(i).path_in_schema: meta.row_group(1).column(i) for i in range(meta.num_columns)}
    for name in ("alpha", "classes", "params", "params_with_bn", "bn_channels"):
        assert cols[name].compression in ("LZ4", "LZ4_RAW") and "DELTA_BINARY_PACKED" not in cols[name].encodings, name
    for name in ("resolution", "madds", "flops", "mac", "mac_bytes"):
        assert cols[name].compression == "ZSTD" and "DELTA_BINARY_PACKED" in cols[name].encodings, name
    assert cols["network"].compression == "ZSTD" and "RLE_DICTIONARY" in cols["network"].encodings
    # min/max statistics on every numeric column (row groups can be skipped by madds, ...), none on the
    # constant string columns (their one value is the dictionary page)
    assert all(c.statistics.has_min_max for n, c in cols.items() if n not in ("network", "head", "feature"))
    assert cols["madds"].statistics.min == int(sweep("mobilenet_v2", [0.75], [121])["madds"][0])  # rows 25-99
    assert not cols["network"].is_stats_set
    _same(pd.read_parquet(path), sweep("mobilenet_v2", [0.75], list(range(96, 96 + 300))))


def test_parquet_is_exact_past_2_63(tmp_path):
    pytest.importorskip("pyarrow", reason="the scale extra (pyarrow) is not installed")
    r = 2 ** 40 + 3
    path = str(tmp_path / "big.parquet")
    sweep_to(path, "mobilenet_v2", [1.0], [224, r], chunk_rows=1)
    df = pd.read_parquet(path)
    t = costmodel.analyze(costmodel.build("mobilenet_v2", res=r)).totals
    assert t["madds"] > 2 ** 63 and int(df["madds"].iloc[1]) == t["madds"]   # decimal128(38, 0): exact
    assert int(df["mac_bytes"].iloc[1]) == t["mac_bytes"]


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_streams_with_sides_past_2_62(tmp_path, suffix):
    """Sides from 2**62 make the size columns exact text in Parquet (classes, a constant the writer
    makes itself, included) and stay exact digits in CSV and JSON lines."""
    if suffix == ".parquet":
        pytest.importorskip("pyarrow", reason="the scale extra (pyarrow) is not installed")
    r = 2 ** 62
    path = str(tmp_path / f"huge{suffix}")
    out = sweep_to(path, "mobilenet_v2", [0.5, 1.0], [224, r], chunk_rows=1)
    assert out["rows"] == 4
    df = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path, dtype=str) if suffix == ".csv" \
        else pd.DataFrame([json.loads(line) for line in open(path)])
    t = costmodel.analyze(costmodel.build("mobilenet_v2", alpha=0.5, res=r)).totals
    assert [int(v) for v in df["height"]] == [224, r, 224, r] and [int(v) for v in df["classes"]] == [1000] * 4
    assert int(df["madds"].iloc[1]) == t["madds"] and int(df["mac_bytes"].iloc[1]) == t["mac_bytes"]


def test_parquet_with_classes_past_2_63(tmp_path):
    """Classes from 2**63 are exact decimals in Parquet (they were sent to int64 and overflowed)."""
    pytest.importorskip("pyarrow", reason="the scale extra (pyarrow) is not installed")
    k = 2 ** 63
    path = str(tmp_path / "classes.parquet")
    sweep_to(path, "mobilenet_v2", [1.0], [96, 128], k)
    df = pd.read_parquet(path)
    t = costmodel.analyze(costmodel.build("mobilenet_v2", res=128, classes=k)).totals
    assert [int(v) for v in df["classes"]] == [k, k] and int(df["params"].iloc[1]) == t["params"] > 2 ** 63


def test_xlsx_stream_and_its_row_limit(tmp_path, monkeypatch):
    openpyxl = pytest.importorskip("openpyxl")
    ws = openpyxl.load_workbook(_stream(tmp_path, ".xlsx"), read_only=True)["sweep"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("network", "alpha", "depth") and "Mult-Adds (count)" in rows[0]
    assert len(rows) == 13 and rows[1][rows[0].index("Mult-Adds (count)")] == int(_frame()["madds"][0])
    from costmodel.sweeps import writers
    monkeypatch.setattr(writers, "XLSX_ROWS", 10)
    with pytest.raises(CostModelError, match="do not fit in one Excel sheet"):
        _stream(tmp_path, "2.xlsx")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_grid_that_does_not_build_leaves_nothing(tmp_path, monkeypatch, suffix):
    """A layer vanishes at the last resolution: build()'s own error, and no file, no temporary."""
    if suffix == ".parquet":
        pytest.importorskip("pyarrow", reason="the scale extra (pyarrow) is not installed")
    from costmodel import registry
    from costmodel.spec import NetSpec, blk
    spec = NetSpec("tiny", (blk("conv", c=8, k=7, padding=0), blk("conv", c=8, k=7, padding=0), blk("gap"),
                            blk("fc")), width="divisible8")
    net = registry.Network("tiny_stream_test", "Tiny", lambda alpha=1.0: spec, "test", "", min_res=8)
    monkeypatch.setitem(registry._REGISTRY, net.name, net)
    path = tmp_path / f"x{suffix}"
    with pytest.raises(CostModelError) as e:
        sweep_to(str(path), net.name, [1.0], [20, 30, 12], chunk_rows=1)
    with pytest.raises(CostModelError) as built:
        costmodel.build(net.name, res=12)
    assert str(e.value) == str(built.value)
    assert not path.exists() and not [f for f in os.listdir(tmp_path) if f.startswith(".costmodel")]


def test_a_first_chunk_that_fails_leaves_nothing_and_keeps_its_error(tmp_path, monkeypatch):
    """The Parquet file is opened at the first chunk: when that chunk fails, closing the writer adds
    nothing (no second error hides the first) and no file is left."""
    pytest.importorskip("pyarrow", reason="the scale extra (pyarrow) is not installed")
    from costmodel.sweeps import engine

    def fail(self, *a, **k):
        raise CostModelError("the first chunk failed")

    monkeypatch.setattr(engine.Prepared, "block", fail)
    path = tmp_path / "x.parquet"
    with pytest.raises(CostModelError, match="the first chunk failed"):
        sweep_to(str(path), "mobilenet_v2", [1.0], [96, 128])
    assert os.listdir(tmp_path) == []


def test_blas_runs_on_one_thread_while_streaming_and_is_restored(tmp_path, monkeypatch):
    """The writer's thread needs the other core: BLAS is bounded to one thread while every chunk
    is computed, and set back afterwards."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from costmodel import blas as costmodel_blas
    from costmodel.sweeps import writers
    # the libraries are found anew, as in a fresh process: a BLAS another test's import loaded since
    # (SciPy's own OpenBLAS) is bounded too, and the check below sees every one
    monkeypatch.setattr(costmodel_blas, "_CONTROLLER", None)
    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    if not blas:
        pytest.skip("NumPy's BLAS is not one threadpoolctl controls")
    seen, chunk = [], writers._chunk_block

    def spy(*a):
        seen.append(max(i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"))
        return chunk(*a)

    monkeypatch.setattr(writers, "_chunk_block", spy)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        sweep_to(str(tmp_path / "x.csv"), "mobilenet_v2", [1.0], range(96, 96 + 3 * (1 << 16)))
        after = max(i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")
    assert len(seen) >= 3 and seen == [1] * len(seen)
    assert after == 2


def test_missing_pyarrow_is_one_line_naming_the_extra(monkeypatch):
    import sys
    from costmodel.sweeps.writers import require_pyarrow
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(CostModelError, match=r"pip install '\.\[scale\]'"):
        require_pyarrow()


def test_dask_engine_on_a_local_cluster(tmp_path):
    """Chunks as tasks on a LocalCluster (two in-process workers): the partitioned dataset reads back
    equal to the local sweep, past 2**63 included."""
    pytest.importorskip("distributed", reason="the scale extra (dask, distributed) is not installed")
    pytest.importorskip("pyarrow", reason="the scale extra (pyarrow) is not installed")
    from distributed import LocalCluster
    from costmodel.sweeps import recipe
    from costmodel.sweeps.distributed import run_dask
    res = [96, 160, 2 ** 40 + 3]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        out = run_dask(recipe("mobilenet_v2", [0.5, 1.0], res, chunk_rows=2), str(tmp_path / "ds"),
                       cluster.scheduler_address)
    assert out["rows"] == 6 and out["partitions"] == 4
    assert sorted(os.listdir(tmp_path / "ds")) == [f"part-{i:06d}.parquet" for i in range(4)]
    df = pd.read_parquet(tmp_path / "ds")
    ref = sweep("mobilenet_v2", [0.5, 1.0], res)
    assert [int(v) for v in df["madds"]] == [int(v) for v in ref["madds"]]
    assert list(df["resolution"]) == [96, 160, 2 ** 40 + 3] * 2


def test_dask_refuses_an_existing_dataset(tmp_path):
    pytest.importorskip("distributed", reason="the scale extra (dask, distributed) is not installed")
    from costmodel.sweeps import recipe
    from costmodel.sweeps.distributed import run_dask
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "x").write_text("")
    with pytest.raises(CostModelError, match="not an empty directory"):
        run_dask(recipe("mobilenet_v2", [1.0], [224]), str(tmp_path / "ds"), "tcp://127.0.0.1:1")
