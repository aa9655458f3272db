"""Hostile inputs, part 1 (issue 16): bounded work. Every input is read as a regular file under a
size cap, YAML aliases cannot ask for exponential work, networks cannot ask for a billion blocks,
the executor refuses a run it cannot allocate, and no error echoes an unbounded value. Each
refusal is one line, exit status 2, no traceback, nothing written (the resource policy:
costmodel/limits.py, README "Errors")."""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import costmodel
from costmodel import CostModelError, GraphError, KnobError, SpecError
from costmodel.fileio import read_bytes
from costmodel.limits import LimitError, parse_amount
from costmodel.specfile import parse_text

from conftest import ROOT, one_line_error

GOOD = "name: g\ninput: {in_channels: 3, resolution: 32}\nblocks:\n  - conv_c8_s2\n  - dwsep_c16\n  - gap\n  - fc_c10\n"


def billion_laughs(levels: int = 9) -> str:
    """The classic: nine levels of nine aliases each (9^9 ~ 387 million leaves) in ~400 bytes."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + f"\nblocks: [*{chr(96 + levels)}]\n"


# ----------------------------------------------------------------------------- YAML aliases
def test_billion_laughs_is_refused_before_it_is_built(cli, tmp_path):
    text = billion_laughs()
    assert len(text) < 500
    p = tmp_path / "laughs.yaml"
    p.write_text(text)
    # expanded: the root, 10 keys, the 9 levels (10, 91, 820, ... 435,848,050 nodes), blocks: [*i] again;
    # as written: 30 nodes
    with pytest.raises(LimitError, match=r"nodes added by expanding its YAML aliases \(\*name\): 926,177,086 nodes"):
        costmodel.load(str(p))
    one_line_error(cli("table", p, "-o", tmp_path / "o.json"), "COSTMODEL_MAX_ALIAS_NODES", "over the limit of 10,000",
                   written=[tmp_path / "o.json"])


def test_alias_budget_counts_expanded_nodes_and_can_be_raised(tmp_path, monkeypatch):
    # 3 levels of 9 under the default budget: expanded, the root, 4 keys, a (10 nodes), b (91), c (820) and
    # blocks: [gap] (2) = 928 nodes; as written 19: aliases add 909
    small = billion_laughs(3).replace("blocks: [*c]", "blocks: [gap]")
    data = parse_text(small, "s.yaml")
    assert len(data["c"]) == 9 and len(data["c"][0]) == 9 and data["c"][8][8][8] == "lol"
    monkeypatch.setenv("COSTMODEL_MAX_ALIAS_NODES", "100")
    with pytest.raises(LimitError, match=r"s\.yaml: nodes added by expanding its YAML aliases \(\*name\): 909 nodes, "
                                         r"over the limit of 100 nodes; the document has 19 nodes as written"):
        parse_text(small, "s.yaml")
    monkeypatch.setenv("COSTMODEL_MAX_ALIAS_NODES", "1k")
    assert parse_text(small, "s.yaml")["c"][0][0][0] == "lol"


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "x: &x {y: *x}\nblocks: [gap]\n", "- &l [1, [2, *l]]\n"])
def test_a_recursive_alias_is_refused(text):
    with pytest.raises(SpecError, match=r":1: a YAML alias refers to a node that contains it"):
        parse_text(text, "r.yaml")


def test_an_alias_expanded_value_is_never_echoed_whole(cli, tmp_path):
    """Under the budget, aliases still multiply a value (here 8 x 8 x 8 = 512 numbers from 80
    bytes): the error quotes a bounded excerpt of it, never all of it."""
    name = "name: [&a [1, 1, 1, 1, 1, 1, 1, 1], &b [*a, *a, *a, *a, *a, *a, *a, *a], [*b, *b, *b, *b, *b, *b, *b, *b]]"
    p = tmp_path / "n.yaml"
    p.write_text(name + "\nblocks: [gap]\n")
    msg = one_line_error(cli("table", p), "name must be a string, got [[1, 1, 1, 1, 1, 1, ...]")
    assert len(msg) < 200


# ----------------------------------------------------------------------------- input files
@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom", "/dev/null"])
@pytest.mark.parametrize("name,args", [("spec.yaml", ["table"]), ("spec.json", ["table"]), ("model.onnx", ["table"]),
                                       ("dev.json", ["table", "mobilenet_v2", "--device"])])
def test_a_link_to_a_device_is_refused_before_reading(cli, tmp_path, target, name, args):
    link = tmp_path / name
    link.symlink_to(target)
    one_line_error(cli(*args, link, "-o", tmp_path / "o.csv"), "is a character device", "regular files only",
                   written=[tmp_path / "o.csv"])


@pytest.mark.parametrize("what", ["spec file", "ONNX model", "device file", "Python file", "weights file"])
def test_read_bytes_refuses_fifos_directories_and_devices(tmp_path, what):
    fifo = tmp_path / "f"
    os.mkfifo(fifo)  # nobody writes: opening it for reading must not wait
    with pytest.raises(CostModelError, match=r"is a FIFO \(named pipe\), not an? .* regular files only"):
        read_bytes(str(fifo), what)
    with pytest.raises(CostModelError, match="is a directory, not an? "):
        read_bytes(str(tmp_path), what)
    with pytest.raises(CostModelError, match="is a character device"):
        read_bytes("/dev/zero", what)
    with pytest.raises(CostModelError, match="not found"):
        read_bytes(str(tmp_path / "missing"), what)
    assert read_bytes(pathlib.Path("/proc/self/status"), what).startswith(b"Name:")  # size 0 in stat: read anyway


def test_a_fifo_does_not_hang_a_real_process(tmp_path):
    for name in ("net.yaml", "m.onnx", "f.py:build"):
        fifo = tmp_path / name.split(":")[0]
        os.mkfifo(fifo)
        arg = str(fifo) + (":build" if name.endswith(":build") else "")
        p = subprocess.run([sys.executable, "-m", "costmodel", "table", arg], capture_output=True, text=True,
                           cwd=ROOT, timeout=120)
        assert p.returncode == 2 and "FIFO (named pipe)" in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr


def test_a_bad_python_file_reference_is_reported_without_pytorch(tmp_path, monkeypatch):
    """The file of a ``file.py:factory`` reference is checked before PyTorch is asked for: without
    PyTorch installed, a missing file or a FIFO still gets its own one-line error."""
    import costmodel.torch_refs as refs
    from costmodel.sources import load
    from costmodel.torch_base import TorchImportError

    def missing(what="PyTorch import"):
        raise TorchImportError(f"{what} needs PyTorch: pip install '.[torch]'")

    monkeypatch.setattr(refs, "require_torch", missing)
    with pytest.raises(CostModelError, match="no such file"):
        load(f"{tmp_path / 'nope.py'}:build")
    os.mkfifo(tmp_path / "f.py")
    with pytest.raises(CostModelError, match=r"is a FIFO \(named pipe\)"):
        load(f"{tmp_path / 'f.py'}:build")
    (tmp_path / "ok.py").write_text("def build():\n    return None\n")
    with pytest.raises(CostModelError, match="needs PyTorch"):
        load(f"{tmp_path / 'ok.py'}:build")


def test_input_size_cap_and_its_override(cli, tmp_path, monkeypatch):
    p = tmp_path / "net.yaml"
    p.write_text(GOOD + "# padding\n" * 50)
    size = p.stat().st_size
    monkeypatch.setenv("COSTMODEL_MAX_TEXT_BYTES", "100")
    one_line_error(cli("table", p, "-o", tmp_path / "o.json"),
                   f"spec file size: {size} bytes, over the limit of 100 bytes", "COSTMODEL_MAX_TEXT_BYTES",
                   written=[tmp_path / "o.json"])
    monkeypatch.setenv("COSTMODEL_MAX_TEXT_BYTES", "1KiB")
    assert cli("table", p).code == 0
    monkeypatch.setenv("COSTMODEL_MAX_TEXT_BYTES", "lots")
    one_line_error(cli("table", p), "COSTMODEL_MAX_TEXT_BYTES='lots' is not an amount")
    monkeypatch.setenv("COSTMODEL_MAX_MODEL_BYTES", "10")
    (tmp_path / "m.onnx").write_bytes(b"\x00" * 11)
    one_line_error(cli("table", tmp_path / "m.onnx"), "ONNX model size: 11 bytes, over the limit of 10 bytes",
                   "COSTMODEL_MAX_MODEL_BYTES")


@pytest.mark.parametrize("text,value", [("0", 0), ("100", 100), ("64MB", 64 * 10 ** 6), ("2MiB", 2 * 2 ** 20),
                                        ("1 kib", 1024), ("3G", 3 * 10 ** 9), ("1TiB", 2 ** 40)])
def test_limit_amounts(text, value):
    assert parse_amount(text, "X") == value


@pytest.mark.parametrize("text", ["-1", "1.5G", "1iB", "lots", "", "1e6"])
def test_bad_limit_amounts(text):
    with pytest.raises(LimitError, match="X=.* is not an amount"):
        parse_amount(text, "X")


# ----------------------------------------------------------------------------- blocks and depth
@pytest.mark.parametrize("depth", ["1e9", "1e300", "1.7e308"])
def test_depth_cannot_ask_for_a_billion_blocks(cli, tmp_path, depth):
    one_line_error(cli("table", "efficientnet_b0", "--depth-mult", depth, "-o", tmp_path / "o.csv"),
                   f"efficientnet_b0: blocks at depth multiplier {float(depth):g}", "over the limit of 2,000 blocks",
                   "COSTMODEL_MAX_BLOCKS", written=[tmp_path / "o.csv"])


@pytest.mark.parametrize("depth", ["0", "-1", "nan", "inf", "-0"])
def test_depth_not_positive_or_not_finite(cli, depth):
    one_line_error(cli("table", "efficientnet_b0", "--depth-mult", depth), "depth multiplier must be a positive finite")


def test_block_caps_on_spec_files_block_strings_and_repeats(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COSTMODEL_MAX_BLOCKS", "5")
    p = tmp_path / "net.yaml"
    p.write_text("blocks: [" + ", ".join(["conv_c8"] * 6) + "]\n")
    one_line_error(cli("table", p), "net.yaml:1: blocks: 6 blocks, over the limit of 5 blocks")
    one_line_error(cli("table", " ".join(["conv_c8"] * 6)), "block string: blocks: 6 blocks, over the limit of 5")
    one_line_error(cli("table", "conv_c8_r3 conv_c8_r3"), "blocks after repeats: 6 blocks, over the limit of 5")
    monkeypatch.setenv("COSTMODEL_MAX_BLOCKS", "6")
    assert cli("table", "conv_c8_r3 conv_c8_r3", "--res", 8).code == 0


# ----------------------------------------------------------------------------- executor memory
@pytest.mark.parametrize("args,needles", [
    (["--classes", 10 ** 12], ["weights 4.55 PiB"]),
    (["--res", 100000], ["activations 2.62 TiB at batch 1"]),
    (["--batch", 10 ** 9], ["at batch 1,000,000,000"]),
])
def test_verify_refuses_what_it_cannot_allocate(cli, monkeypatch, args, needles):
    monkeypatch.setenv("COSTMODEL_MAX_EXEC_BYTES", "16GiB")
    one_line_error(cli("verify", "mobilenet_v2", *args), "mobilenet_v2: memory for the NumPy executor",
                   "over the limit of 16 GiB", "COSTMODEL_MAX_EXEC_BYTES", *needles)


def test_memory_need_is_counted_exactly_on_a_small_graph():
    """conv 3x3 3->8 with bias (no BN) at 8x8, relu, gap, fc 8->4; batch 2, float32. The peak is
    at the conv: input + output + its padded copy (10x10) + two im2col tiles (the whole 8 rows)."""
    from costmodel.exec_checks import memory_need
    g = costmodel.load("conv_c8_relu_bn=false gap fc_c4", res=8)
    need = memory_need(g, batch=2)
    assert need["weights"] == 4 * (8 * 3 * 9 + 8 + 8 * 4 + 4)
    x, y = 2 * 3 * 64 * 4, 2 * 8 * 64 * 4
    padded, tile = 2 * 3 * 100 * 4, 2 * 3 * 9 * 64 * 4
    assert need["activations"] == x + y + padded + 2 * tile and need["at"].startswith("conv")
    assert need["total"] == need["weights"] + need["activations"]
    assert memory_need(g, batch=2, keep=True)["activations"] >= need["activations"]


def test_execute_checks_seed_and_input_before_allocating(monkeypatch):
    g = costmodel.load("conv_c8 gap fc_c4", res=8)
    for seed in ("a", -1, True, 1.5):
        with pytest.raises(KnobError, match="seed must be a non-negative integer"):
            costmodel.execute(g, seed=seed)
    assert costmodel.execute(g, seed=np.int64(3)).shape == (1, 4)
    with pytest.raises(GraphError, match=r"input is complex \(complex64\).*would drop the imaginary part"):
        costmodel.execute(g, np.ones((1, 3, 8, 8), np.complex64))
    with pytest.raises(GraphError, match="numeric array"):
        costmodel.execute(g, np.array([["a"]]))
    assert costmodel.execute(g, np.ones((2, 3, 8, 8), np.int32)).shape == (2, 4)   # integers: converted, exact
    monkeypatch.setenv("COSTMODEL_MAX_EXEC_BYTES", "1000")
    with pytest.raises(LimitError, match=r"memory for the NumPy executor .* over the limit of 1,000 bytes"):
        costmodel.execute(g)


def test_verify_seed_must_be_non_negative(cli):
    one_line_error(cli("verify", "mobilenet_v2", "--seed", -1), "--seed must be a non-negative integer, got -1")


def test_verify_an_onnx_model_with_a_billion_wide_input(cli, tmp_path, monkeypatch):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 10 ** 9, 1000])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    m = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="r")], "g", [x], [y]),
                          opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / "wide.onnx"
    onnx.save(m, str(path))
    monkeypatch.setenv("COSTMODEL_MAX_EXEC_BYTES", "16GiB")
    one_line_error(cli("verify", path), "memory for the NumPy executor", "TiB")


# ----------------------------------------------------------------------------- huge numbers
def test_sweep_classes_beyond_int64_are_exact(cli):
    r = cli("sweep", "mobilenet_v2", "--classes", 10 ** 20, "--alpha", "0.5,1", "--res", "224", "-f", "json")
    assert r.code == 0, r
    rows = json.loads(r.out)
    for row in rows:
        t = costmodel.analyze(costmodel.build("mobilenet_v2", alpha=row["alpha"], res=224, classes=10 ** 20)).totals
        assert (row["classes"], row["params"], row["madds"], row["flops"]) == (10 ** 20, t["params"], t["madds"],
                                                                                t["flops"])
    assert rows[1]["params"] > 2 ** 63


@pytest.mark.parametrize("text,fmt,needle", [
    ('{"blocks": [{"type": "conv", "c": 1%s}]}' % ("0" * 5000), "json", "n.json:1: an integer of 5,001 digits"),
    ("blocks:\n  - {type: conv, c: 1%s}\n" % ("0" * 5000), "yaml", "n.yaml:2: an integer of 5,001 characters"),
    ("input: {resolution: 9%s}\nblocks: [gap]\n" % ("9" * 5000), "yaml", "n.yaml:1: an integer of 5,001"),
])
def test_integers_beyond_4300_digits_in_specs(cli, tmp_path, text, fmt, needle):
    p = tmp_path / f"n.{fmt}"
    p.write_text(text)
    one_line_error(cli("table", p), needle, "too long to read (at most 4,300 digits)")


@pytest.mark.parametrize("args,needle", [
    (["table", "conv_c1%s" % ("0" * 5000)], "has too many digits"),
    (["table", "@classes1%s conv_c8" % ("0" * 5000)], "classes in '@classes1000"),
    (["table", "mobilenet_v2", "--res", "9" * 5000], "has too many digits"),
    (["table", "mobilenet_v2", "--res", "5x" + "9" * 5000], "has too many digits"),
    (["table", "mobilenet_v2", "--classes", "9" * 5000], "is not a valid integer"),
    (["sweep", "mobilenet_v2", "--res", "9" * 5000], "is larger than 10^60, the largest side accepted"),
    (["sweep", "conv_c8 gap", "--res", "9" * 70], "is larger than 10^60, the largest side accepted"),
    (["table", "mobilenet_v2", "--classes", "9" * 70], "is more than 10^60, the most accepted"),
    (["table", "mobilenet_v2", "--batch", "9" * 70], "is more than 10^60, the most accepted"),
])
def test_huge_digit_strings_on_the_command_line(cli, args, needle):
    one_line_error(cli(*args), needle)


@pytest.mark.parametrize("res", ["1000000000000000000000000000000", "1000000000000000000000000000000x64"])
def test_huge_resolutions_stay_exact(cli, res):
    r = cli("table", "conv_c8_k1 gap fc_c2", "--res", res, "-f", "json")
    assert r.code == 0, r
    h, w = (int(v) for v in (res.split("x") if "x" in res else (res, res)))
    assert json.loads(r.out)["totals"]["madds"] == 8 * 3 * h * w + 8 * 2


def test_huge_batch_classes_and_resolution_at_once_stay_exact(cli):
    """At the largest accepted values (10^60 each) every command still answers, in exact integers."""
    one = json.loads(cli("table", "mobilenet_v2", "-f", "json").out)["totals"]
    big = json.loads(cli("table", "mobilenet_v2", "--batch", 10 ** 30, "-f", "json").out)["totals"]
    assert big["madds"] == 10 ** 30 * one["madds"]
    e = 10 ** 60
    r = cli("table", "conv_c8_k1 gap fc", "--res", e, "--classes", e, "--batch", e, "-f", "json")
    assert r.code == 0, r
    assert json.loads(r.out)["totals"]["madds"] == e * (8 * 3 * e * e + 8 * e)
    for args in (["table", "mobilenet_v2"], ["memory", "mobilenet_v2"], ["sweep", "mobilenet_v2"]):
        assert cli(*args, "--res", e, "--classes" if args[0] != "memory" else "--batch", e).code == 0


# ----------------------------------------------------------------------------- no unbounded echo
HUGE = "x" * 100_000


@pytest.mark.parametrize("make", [
    lambda: costmodel.load(f"conv_c8 {HUGE}"),
    lambda: costmodel.load(f"conv_c8 conv_c8_{HUGE}"),
    lambda: costmodel.load(f"conv_c8 conv_c8_name={HUGE[:-1]}_bogus"),
    lambda: costmodel.load("conv_c8 " * 5000 + "zz_k"),
    lambda: costmodel.load("@res0 " + "conv_c8 " * 5000),
    lambda: costmodel.load(f"conv_c8_inputs={HUGE} add_inputs=a,b"),
    lambda: costmodel.load("mobilenet_v2", res=HUGE),
    lambda: costmodel.load("mobilenet_v2", alpha=[1.0] * 100_000),
    lambda: costmodel.load([HUGE]),
    lambda: costmodel.build("mobilenet_v2", classes=HUGE),
    lambda: costmodel.specfile.spec_from_data(parse_text(f"blocks: [{{type: conv, c: '{HUGE}'}}]\n", "h.yaml"),
                                              "h.yaml"),
    lambda: costmodel.specfile.spec_from_data(parse_text(f"{HUGE}: 1\nblocks: [gap]\n", "h.yaml"), "h.yaml"),
    lambda: costmodel.specfile.spec_from_data(parse_text(f"blocks: [{{type: {HUGE}}}]\n", "h.yaml"), "h.yaml"),
    lambda: costmodel.specfile.spec_from_data(
        parse_text("blocks: [{type: conv, c: 8, k: [" + ", ".join(["3"] * 50_000) + ", -1]}]\n", "h.yaml"), "h.yaml"),
    lambda: parse_text("blocks: [" + HUGE + "\n", "h.yaml"),
    lambda: costmodel.specfile.spec_from_data(
        parse_text("blocks:\n" + "".join(f"  - conv_c8_name=b{i}\n" for i in range(3000))
                   + "  - {type: add, inputs: [b1, nope]}\n", "h.yaml"), "h.yaml"),
])
def test_no_error_echoes_an_unbounded_value(make):
    with pytest.raises(CostModelError) as e:
        make()
    msg = str(e.value)
    assert "\n" not in msg and len(msg) < 700, (len(msg), msg[:300])


def test_the_cli_bounds_any_error_line(cli):
    msg = one_line_error(cli("table", "mobilenet_v2", "--head", HUGE))
    assert "characters]" in msg or len(msg) < 400
