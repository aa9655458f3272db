"""The table command: contract of the JSON, formats, bad input."""
import json
import os

import pytest

from conftest import run_subprocess


def test_table_text_example(cli):
    r = cli("table", "mobilenet_v2", "--alpha", "0.75", "--res", "160")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].startswith("mobilenet_v2  alpha=0.75  resolution=160")
    total = [x for x in lines if x.startswith("total")][0]
    assert "2.61 M" in total and "107.30 M" in total   # the text view in SI units, the exact totals in the notes
    assert "params 2.61 M (2,609,784)" in r.out and "Mult-Adds 107.30 M (107,295,200)" in r.out
    assert "convention:" in r.out


def test_table_json_contract(cli):
    r = cli("table", "mobilenet_v2", "--alpha", "0.75", "--res", "160", "--classes", "1001", "--format", "json")
    d = json.loads(r.out)
    assert {"network", "alpha", "resolution", "classes", "totals", "layers"} <= set(d)
    assert d["network"] == "mobilenet_v2" and d["alpha"] == 0.75 and d["resolution"] == 160 and d["classes"] == 1001
    assert {"params", "params_with_bn", "madds", "flops"} <= set(d["totals"])
    assert all(isinstance(v, int) for v in d["totals"].values())
    assert d["totals"]["madds"] == 107_296_480
    layer = d["layers"][0]
    assert {"name", "op", "input_shape", "output_shape", "params", "madds", "flops"} <= set(layer)
    assert layer["input_shape"] == [3, 160, 160] and layer["output_shape"] == [24, 80, 80]
    assert sum(x["madds"] for x in d["layers"]) == d["totals"]["madds"]


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
def test_table_formats(cli, fmt):
    r = cli("table", "mobilenet_v1", "--format", fmt)
    assert r.code == 0
    if fmt == "csv":
        head, *rows = r.out.strip().splitlines()
        assert head == "layer,op,input (HxWxC),output (HxWxC),params,Mult-Adds,FLOPs"
        assert rows[-1].startswith("total,") and rows[-1].endswith(",568740352,1152659944")
    else:
        assert "| **total** |" in r.out


def test_output_file_atomic(cli, tmp_path):
    out = tmp_path / "v1.json"
    r = cli("table", "mobilenet_v1", "-f", "json", "-o", out)
    assert r.code == 0 and r.out == ""
    assert json.loads(out.read_text())["totals"]["params"] == 4_210_088
    assert [p.name for p in tmp_path.iterdir()] == ["v1.json"]


@pytest.mark.parametrize("args,needle", [
    (["table", "nonet"], "unknown network 'nonet'"),
    (["table", "mobilenet_v2", "--alpha", "0"], "alpha must be a positive finite number"),
    (["table", "mobilenet_v2", "--alpha", "-0.5"], "alpha must be a positive finite number"),
    (["table", "mobilenet_v2", "--alpha", "nan"], "alpha must be a positive finite number"),
    (["table", "mobilenet_v2", "--alpha", "abc"], "'abc' is not a valid float"),
    (["table", "mobilenet_v2", "--res", "8"], "resolution 8 is too small"),
    (["table", "mobilenet_v2", "--alpha", "1e308"], "width multiplier too large"),
    (["table", "shufflenet_v1", "--alpha", "1e308"], "width multiplier too large"),
    (["table", "mobilenet_v1", "--alpha", "1e13"], "width multiplier too large"),
    (["table", "mobilenet_v2", "--format", "xml"], "'xml' is not one of"),
    (["table", "mobilenet_v2", "--groups", "3"], "has no knob 'groups'"),
    (["table", "mobilenet_v1", "--variant", "deep"], "accepted: standard, conv, shallow"),
    (["table", "mobilenet_v2", "-o", "/nonexistent-dir/x.json"], "does not exist"),
])
def test_bad_input_one_line_exit_2(cli, args, needle):
    r = cli(*args)
    assert r.code == 2
    assert r.err.startswith("costmodel: error: ") and r.err.count("\n") == 1
    assert needle in r.err
    assert "Traceback" not in r.err and r.out == ""


def test_unwritable_output_leaves_nothing(cli, tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    os.chmod(d, 0o500)
    try:
        if os.access(d, os.W_OK):
            pytest.skip("running as a user that can write anywhere")
        r = cli("table", "mobilenet_v2", "-o", d / "x.csv")
        assert r.code == 2 and "not writable" in r.err
        assert list(d.iterdir()) == []
    finally:
        os.chmod(d, 0o700)


def test_console_entry_point_subprocess():
    r = run_subprocess("table", "mobilenet_v2", "--alpha", "0.75", "--res", "160", "-f", "json")
    assert r.code == 0 and json.loads(r.out)["totals"]["params"] == 2_609_784
    r = run_subprocess("table", "mobilenet_v2", "--res", "0")
    assert r.code == 2 and r.err.count("\n") == 1 and "Traceback" not in r.err


def test_list(cli):
    r = cli("list")
    assert r.code == 0 and "mobilenet_v1" in r.out and "--variant standard|conv|shallow" in r.out
    import json as _j
    rows = _j.loads(cli("list", "-f", "json").out)
    assert {"name", "family", "resolution", "alpha", "knobs"} <= set(rows[0])


@pytest.mark.parametrize("suffix,check", [
    (".json", lambda t: json.loads(t)["totals"]["params"] == 3_470_760),
    (".csv", lambda t: t.startswith("layer,op,")),
    (".md", lambda t: "| **total** |" in t),
    (".txt", lambda t: t.startswith("mobilenet_v2  alpha=1")),
])
def test_output_suffix_chooses_the_format(cli, tmp_path, suffix, check):
    out = tmp_path / f"v2{suffix}"
    assert cli("table", "mobilenet_v2", "-o", out).code == 0
    assert check(out.read_text())
    # an explicit --format wins over the suffix
    assert cli("table", "mobilenet_v2", "-f", "csv", "-o", out).code == 0
    assert out.read_text().startswith("layer,op,")


@pytest.mark.parametrize("fmt,name", [("csv", "t.xlsx"), ("xlsx", "t.csv"), ("json", "t.xlsx")])
def test_an_explicit_format_against_a_binary_suffix_is_refused(cli, tmp_path, fmt, name):
    """-f csv -o t.xlsx would write text into a file every program opens as a workbook."""
    out = tmp_path / name
    r = cli("table", "mobilenet_v2", "-f", fmt, "-o", out)
    assert r.code == 2 and "is named as" in r.err and f"--format is {fmt}" in r.err and not out.exists(), r.err
