"""Hostile inputs, part 2 (issue 16): odd but valid input, messages that name what the user wrote,
and the same classes of problem across every command and input kind (PyTorch files, device
files, H x W strings, patch and planner options, depth, batch, bits). Every refusal: one line,
exit status 2, no traceback, nothing written."""
import json
import os
import pathlib

import pytest

import costmodel
from costmodel import KnobError, SpecError

from conftest import one_line_error

SPEC = "name: g\ninput: {in_channels: 3, resolution: 32}\nblocks:\n  - conv_c8_s2\n  - dwsep_c16\n  - gap\n  - fc_c10\n"


# ----------------------------------------------------------------------------- already fixed on main
@pytest.mark.parametrize("knob,flag", [("alpha", "--alpha"), ("res", "--res"), ("resolution", "--res"),
                                       ("classes", "--classes"), ("depth", "--depth-mult"), ("batch", "--batch")])
def test_set_of_a_knob_with_its_own_flag_points_to_the_flag(cli, tmp_path, knob, flag):
    one_line_error(cli("table", "mobilenet_v2", "--set", f"{knob}=0.5", "-o", tmp_path / "o.json"),
                   f"{knob} has a flag of its own; use {flag} 0.5", written=[tmp_path / "o.json"])


@pytest.mark.parametrize("args", [["--head", "ssd", "--set", "head=ssdlite"],
                                  ["--set", "head=ssd", "--set", "head=ssdlite"]])
def test_a_knob_given_twice_is_refused(cli, args):
    one_line_error(cli("table", "mobilenet_v2", *args), "knob head is given twice", "give it once")


@pytest.mark.parametrize("item,needle", [("head=", "--set head= has an empty value"),
                                         ("=ssd", "--set takes KNOB=VALUE"), ("head", "--set takes KNOB=VALUE"),
                                         ("", "--set takes KNOB=VALUE"), ("a b=1", "a knob name is a word")])
def test_set_items_that_are_not_knob_equals_value(cli, item, needle):
    one_line_error(cli("table", "mobilenet_v2", "--set", item), needle)


def test_a_json_spec_with_tabs_is_read_as_json(tmp_path):
    tabbed = tmp_path / "tab.json"
    tabbed.write_text('{\t"name":\t"t",\t"input":\t{"resolution":\t32},\n\t"blocks":\t["conv_c8_s2",\t"gap",\t"fc_c10"]}')
    plain = tmp_path / "plain.yaml"
    plain.write_text("name: t\ninput: {resolution: 32}\nblocks: [conv_c8_s2, gap, fc_c10]\n")
    a, b = (costmodel.analyze(costmodel.load(str(p))).totals for p in (tabbed, plain))
    assert a == b and a["params"] == 8 * 27 + 8 * 10 + 10


def test_a_network_name_in_capitals_gets_a_suggestion(cli):
    one_line_error(cli("table", "MOBILENET_V2"), "unknown network 'MOBILENET_V2'", "did you mean mobilenet_v2")


def test_load_takes_a_pathlib_path(tmp_path):
    p = tmp_path / "net.yaml"
    p.write_text(SPEC)
    assert costmodel.load(pathlib.Path(p)).name == costmodel.load(str(p)).name == "g"
    with pytest.raises(KnobError, match="a network must be a name, a file path or a block string, got list"):
        costmodel.load(["mobilenet_v2"])


def test_a_long_block_string_is_quoted_in_at_most_80_characters(cli):
    text = " ".join(["conv_c8"] * 1500) + " conv_c8_zz"
    msg = one_line_error(cli("table", text), "column 12009", "cannot read option 'zz'")
    quoted = msg.split("block string ", 1)[1].split(", column")[0]
    assert len(quoted) <= 100 and quoted.endswith("(12,010 characters)")


# ----------------------------------------------------------------------------- odd but valid
@pytest.mark.parametrize("command", ["sweep", "fit", "export"])
@pytest.mark.parametrize("option", ["--alpha", "--res"])
def test_an_empty_grid_value_is_an_error_not_the_default(cli, tmp_path, command, option):
    out = tmp_path / ("o.xlsx" if command == "export" else "o.csv")
    extra = ["--max-madds", "1G"] if command == "fit" else []
    one_line_error(cli(command, "mobilenet_v2", option, "", *extra, "-o", out), "the value is empty", option,
                   written=[out])


@pytest.mark.parametrize("option", ["--device", "--head", "--variant", "--bypass"])
def test_every_text_option_refuses_an_empty_value(cli, tmp_path, option):
    one_line_error(cli("table", "mobilenet_v2", option, "", "-o", tmp_path / "o.csv"), "the value is empty",
                   written=[tmp_path / "o.csv"])


# ----------------------------------------------------------------------------- block arguments
@pytest.mark.parametrize("source,needle", [
    ("blocks:\n  - conv_c8\n  - {type: ir, t: 0, c: 16}\n", "net.yaml:3: block 1 (ir): t (expansion ratio) must be a "
                                                             "positive number, got 0"),
    ("conv_c8 ir_e-1_c16", "column 12: ir: e (expansion ratio t) must be a positive number, got -1"),
    ("conv_c8 ir_e0.01_c16", "ir expansion ratio t 0.01 x 8 input channels rounds to 0 channels"),
    ("blocks:\n  - {type: conv, c: -3}\n", "net.yaml:2: block 0 (conv): c (output channels) must be a positive "
                                           "integer, got -3"),
    ("conv_c-3", "column 6: conv: c (output channels) must be a positive integer, got -3"),
    ("conv_c8_k0", "column 9: conv: k (kernel size) must be a positive integer or a list of them, got 0"),
    ("blocks:\n  - {type: conv, c: 8, k: [3, 0]}\n", "k (kernel size) must be a positive integer or a list of them, "
                                                     "got (3, 0)"),
    ("conv_c8_s0", "conv: s (stride) must be a positive integer or a pair of them (H, W), got 0"),
    ("conv_c8_s2,2,2", "s (stride) must be a positive integer or a pair of them (H, W), got (2, 2, 2)"),
    ("conv_c8_g0", "conv: g (groups) must be a positive integer, got 0"),
    ("conv_c8_groups=-2", "conv: groups must be a positive integer, got -2"),
    ("conv_c8_d0", "conv: d (dilation) must be a positive integer or a pair of them (H, W), got 0"),
    ("conv_c8 ir_e6_c16_se2", "ir: se (SE ratio) must be a ratio from 0 to 1, got 2"),
    ("blocks:\n  - {type: ir, t: 6, c: 16, se: -0.5}\n", "se (SE ratio) must be a ratio from 0 to 1, got -0.5"),
    ("conv_c8 ir_x0_c16", "ir: x (expansion channels exp) must be a positive integer, got 0"),
    ("blocks:\n  - {type: ir, exp: 0, c: 16}\n", "exp (expansion channels) must be a positive integer, got 0"),
    ("pool_k3_s2_padding=-1", "pool: padding must be a non-negative integer or a list of them, got -1"),
    ("adaptive_pool_size=0", "adaptive_pool: size (output size) must be a positive integer or a pair"),
    ("fire_s1x1=0_e1x1=4_e3x3=4", "fire: s1x1 (squeeze channels) must be a positive integer, got 0"),
    ("blocks:\n  - {type: fbnet_ir, c: 8, e: 0}\n", "e (expansion ratio) must be a positive number, got 0"),
    ("conv_c8 ir_e6_c16_k3_r0", "repeat must be a positive integer, got 'r0'"),
])
def test_block_argument_errors_name_what_the_user_wrote(cli, tmp_path, source, needle):
    if source.startswith("blocks:"):
        p = tmp_path / "net.yaml"
        p.write_text(source)
        source = str(p)
    one_line_error(cli("table", source, "-o", tmp_path / "o.json"), needle, written=[tmp_path / "o.json"])
    with pytest.raises(SpecError):
        costmodel.load(source)


def test_valid_arguments_still_build(cli):
    for text in ("conv_c8_k3,5_s1 gap", "conv_c8_s2,1_d1,2 gap", "conv_c8 ir_e0.5_c8_se0_k5 gap",
                 "pool_k3_s2_padding=1", "adaptive_pool_size=2", "conv_c8_padding=0,1,0,1 gap"):
        assert cli("table", text, "--res", 32).code == 0, text


# ----------------------------------------------------------------------------- PyTorch files
MODEL = '''import torch.nn as nn


def build(c: int = 8):
    return nn.Sequential(nn.Conv2d(3, c, 3), nn.ReLU())


def boom():
    raise RuntimeError("the factory broke " + "x" * 5000)


def number():
    return 42


def leave():
    import sys
    sys.exit(3)
'''


@pytest.fixture
def torch_files(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "m.py").write_text(MODEL)
    (tmp_path / "bin.py").write_bytes(b"\x00\x01\x02 not python")
    (tmp_path / "syn.py").write_text("def build(:\n    pass\n")
    (tmp_path / "imp.py").write_text("import math\nraise ValueError('broken at import')\n")
    (tmp_path / "ex.py").write_text("import sys\nsys.exit(4)\n")
    (tmp_path / "dir.py").mkdir()
    return tmp_path


@pytest.mark.parametrize("ref,needles", [
    ("missing.py:build", ["no such file", "missing.py"]),
    ("dir.py:build", ["is a directory, not a Python file"]),
    ("bin.py:build", ["not a Python file that compiles", "source code string cannot contain null bytes"]),
    ("syn.py:build", ["not a Python file that compiles", "syn.py:1: SyntaxError"]),
    ("imp.py:build", ["importing", "imp.py:2 failed: ValueError: broken at import"]),
    ("ex.py:build", ["ex.py:2 called sys.exit(4)"]),
    ("m.py:boom", ["boom() failed: RuntimeError: the factory broke"]),
    ("m.py:number", ["the factory returned an object of type int, not a torch.nn.Module"]),
    ("m.py:leave", ["leave() called sys.exit(3)"]),
    ("m.py:nothing", ["defines no 'nothing'; it defines boom, build, leave, number"]),
])
def test_pytorch_file_references_fail_in_one_line(cli, torch_files, ref, needles):
    r = cli("table", torch_files / ref, "-o", torch_files / "o.json")
    msg = one_line_error(r, *needles, written=[torch_files / "o.json"])
    assert "File \"" not in msg and len(msg) < 600


def test_pytorch_file_reference_works(cli, torch_files):
    r = cli("table", torch_files / "m.py:build", "--res", 8, "--set", "c=4", "-f", "json")
    assert r.code == 0, r
    assert json.loads(r.out)["totals"]["params"] == 4 * 27 + 4


# ----------------------------------------------------------------------------- device files
@pytest.mark.parametrize("content,needle", [
    ('{"name": ', "not valid JSON (Expecting value"),
    ("[" * 100_000, "not valid JSON (nested too deeply)"),
    ('[1, 2]', "expected a JSON object with name, model, peak_gflops"),
    ('{"name": "x", "model": "roofline"}', "field 'peak_gflops' is missing"),
    ('{"name": "x", "model": "roofline", "peak_gflops": -5, "bandwidth_gbs": 3}', "'peak_gflops' must be positive, "
                                                                                  "got -5"),
    ('{"name": "x", "model": "roofline", "peak_gflops": 5, "bandwidth_gbs": "fast"}', "'bandwidth_gbs' must be a "
                                                                                       "number, got 'fast'"),
    ('{"name": "", "model": "roofline", "peak_gflops": 5, "bandwidth_gbs": 3}', "'name' must be a non-empty string"),
    ('{"name": "x", "model": "magic", "peak_gflops": 5, "bandwidth_gbs": 3}', "'model' must be 'roofline' or"),
    ('{"name": "x", "model": "roofline", "peak_gflops": 1%s, "bandwidth_gbs": 3}' % ("0" * 5000), "not valid JSON"),
    (b"\xff\xfe{}", "not a text file"),
])
def test_device_files_fail_in_one_line(cli, tmp_path, content, needle):
    p = tmp_path / "dev.json"
    (p.write_bytes if isinstance(content, bytes) else p.write_text)(content)
    one_line_error(cli("table", "mobilenet_v2", "--device", p, "-o", tmp_path / "o.csv"), "dev.json", needle,
                   written=[tmp_path / "o.csv"])


def test_a_device_fifo_is_refused(cli, tmp_path):
    fifo = tmp_path / "dev.json"
    os.mkfifo(fifo)
    one_line_error(cli("table", "mobilenet_v2", "--device", fifo), "is a FIFO (named pipe), not a device file")


# ----------------------------------------------------------------------------- H x W, depth, batch, bits
@pytest.mark.parametrize("res,needle", [
    ("0x5", "resolution 0x5 is too small"), ("5x", "resolution must be N or HxW"),
    ("x5", "resolution must be N or HxW"), ("1e9x1e9", "resolution must be N or HxW"),
    ("5x5x5", "resolution must be N or HxW"), ("-5", "resolution -5 is too small; this network needs at least 32"),
    ("0", "resolution 0 is too small"), ("224.0", "resolution must be N or HxW"),
    ("2" + "0" * 61, "larger than 10^60"),
])
@pytest.mark.parametrize("command", ["table", "memory", "verify"])
def test_resolution_strings(cli, tmp_path, res, needle, command):
    out = ["-o", tmp_path / "o.json"] if command != "verify" else []
    one_line_error(cli(command, "mobilenet_v2", "--res", res, *out), needle, written=[tmp_path / "o.json"])


@pytest.mark.parametrize("args,needle", [
    (["--batch", "0"], "batch size must be a positive integer, got 0"),
    (["--batch", "-3"], "batch size must be a positive integer, got -3"),
    (["--batch", "1.5"], "is not a valid integer"),
    (["--classes", "0"], "classes must be a positive integer, got 0"),
    (["--bits", "3"], "'3' is not one of '8', '16', '32'"),
    (["--alpha", "nan"], "alpha must be a positive finite number"),
])
def test_table_numbers(cli, tmp_path, args, needle):
    one_line_error(cli("table", "mobilenet_v2", *args, "-o", tmp_path / "o.json"), needle,
                   written=[tmp_path / "o.json"])


# ----------------------------------------------------------------------------- memory: patches and planner
@pytest.mark.parametrize("args,needle", [
    (["--patches", "0x4"], "patch grid must be ROWSxCOLS of positive integers"),
    (["--patches", "4x"], "patch grid must be ROWSxCOLS of positive integers"),
    (["--patches", "100000x100000"], "patches in the 100000x100000 grid: 10,000,000,000 patches, over the limit of "
                                     "4,096"),
    (["--patches", "2x2", "--patch-until", "nosuchlayer"], "--patch-until 'nosuchlayer' is not a layer of the network"),
    (["--patches", "2x2", "--max-overhead", "-5%"], "max overhead must be a non-negative percentage"),
    (["--patches", "2x2", "--max-overhead", "nan"], "max overhead must be a non-negative percentage"),
    (["--patch-until", "conv0"], "--patch-until chooses the per-patch stage of --patches RxC; give --patches too"),
    (["--max-overhead", "5%"], "--max-overhead chooses the per-patch stage of --patches RxC"),
    (["--patches", ""], "the value is empty"),
    (["--inplace", "bogus"], "unknown in-place option 'bogus'; accepted: dw, add, fused-add"),
    (["--inplace", ","], "--inplace ',' is empty"),
    (["--align", "0"], "--align must be a positive number of bytes, got 0"),
    (["--align", "-16"], "--align must be a positive number of bytes, got -16"),
    (["--split", "0"], "--split must be a positive number of slices, got 0"),
    (["--planner", "best"], "'best' is not one of 'greedy', 'linear', 'none'"),
    (["--weight-bits", "3"], "'3' is not one of '4', '8', '16', '32'"),
    (["--plot", "x.pdf"], "--plot writes a PNG image"),
])
def test_memory_options(cli, tmp_path, args, needle):
    one_line_error(cli("memory", "mobilenet_v2", *args, "-o", tmp_path / "o.json"), needle,
                   written=[tmp_path / "o.json"])


def test_patch_limit_can_be_raised(cli, monkeypatch):
    monkeypatch.setenv("COSTMODEL_MAX_PATCHES", "3")
    one_line_error(cli("memory", "mobilenet_v2", "--patches", "2x2"), "4 patches, over the limit of 3 patches",
                   "COSTMODEL_MAX_PATCHES")
    monkeypatch.setenv("COSTMODEL_MAX_PATCHES", "4")
    assert cli("memory", "conv_c8_s2 conv_c8 gap", "--res", 16, "--patches", "2x2").code == 0


# ----------------------------------------------------------------------------- measure and calibrate
@pytest.mark.parametrize("args,needle", [
    (["--max-time", "-1"], "--max-time must be a positive number of seconds, got -1.0"),
    (["--max-time", "nan"], "--max-time must be a positive number of seconds, got nan"),
    (["--threads", "0"], "threads must be an integer >= 1, got 0"),
    (["--threads", str(10 ** 20)], "threads must be an integer from 1 to 1024"),
    (["--runs", "0"], "runs must be an integer >= 1, got 0"),
    (["--res", "100000"], "memory for an onnxruntime run (weights"),
])
def test_measure_options(cli, tmp_path, monkeypatch, args, needle):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("COSTMODEL_MAX_EXEC_BYTES", "16GiB")
    net = "mobilenet_v2" if "--res" in args else "conv_c8 gap"
    extra = [] if "--res" in args else ["--res", "8"]
    one_line_error(cli("measure", net, *extra, *args, "-o", tmp_path / "o.json"), needle,
                   written=[tmp_path / "o.json"])


def test_calibrate_with_no_network_is_an_error(cli, tmp_path):
    one_line_error(cli("calibrate", "--networks", ",", "-o", tmp_path / "d.json"), "names no network",
                   written=[tmp_path / "d.json"])


def test_check_input_makes_read_bytes_checks_without_reading(tmp_path):
    """fileio.check_input (diff's check of an ONNX side before a slow load) refuses what read_bytes
    refuses, in the same words, and reads nothing."""
    from costmodel.fileio import check_input, read_bytes
    f = tmp_path / "m.onnx"
    f.write_bytes(b"x" * 10)
    assert check_input(str(f), "ONNX model") is None
    for bad in (tmp_path / "missing.onnx", tmp_path, "/dev/zero"):
        with pytest.raises(costmodel.CostModelError) as a:
            check_input(str(bad), "ONNX model")
        with pytest.raises(costmodel.CostModelError) as b:
            read_bytes(str(bad), "ONNX model")
        assert str(a.value) == str(b.value)
