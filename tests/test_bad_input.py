"""Bad input everywhere: one line on stderr and exit status 2 on the CLI (no traceback, nothing
half-written), the exception types of costmodel.errors in the API; huge resolutions stay exact."""
import json
import math
import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import costmodel
from costmodel import CostModelError, GraphBuilder, GraphError, KnobError, analyze
from costmodel.cli import COMMANDS
from costmodel.ops import Conv2d, make_op
from costmodel.specfile import parse_text, spec_from_data

from conftest import one_line_error, run_subprocess

GOOD = "name: g\ninput: {in_channels: 3, resolution: 32}\nblocks:\n  - conv_c8_s2\n  - dwsep_c16\n  - gap\n  - fc_c10\n"


@pytest.fixture
def spec(tmp_path):
    def make(text=GOOD, name="net.yaml"):
        p = tmp_path / name
        p.write_text(text)
        return str(p)
    return make


# ----------------------------------------------------------------------------- networks, ops, knobs
def test_unknown_network_and_op(cli):
    one_line_error(cli("table", "mobilenet_v9"), "unknown network 'mobilenet_v9'", "did you mean")
    one_line_error(cli("table", "no_such_file.yaml"), "spec file 'no_such_file.yaml' not found")
    with pytest.raises(KnobError, match="unknown network"):
        costmodel.build("resnet9000")
    with pytest.raises(GraphError, match="unknown op kind 'conv3d'; accepted: "):
        make_op("conv3d", out_channels=3)


def test_a_file_that_is_neither_spec_nor_onnx(cli, tmp_path):
    p = tmp_path / "model.pb"
    p.write_bytes(b"\x00\x01")
    one_line_error(cli("table", str(p)), "is a file but not a spec file, ONNX model")


@pytest.mark.parametrize("alpha", ["0", "-1", "nan", "inf", "-inf"])
def test_alpha_not_positive_or_not_finite_cli(cli, spec, alpha):
    one_line_error(cli("table", "mobilenet_v2", "--alpha", alpha), "alpha must be a positive finite number")
    one_line_error(cli("table", spec(), "--alpha", alpha), "alpha must be a positive finite number")
    one_line_error(cli("table", "mobilenet_v2", "--alpha", "half"), "--alpha")


@pytest.mark.parametrize("alpha", [0, -0.5, math.nan, math.inf, "0.5", True, None.__class__])
def test_alpha_api(spec, alpha):
    with pytest.raises(KnobError):
        costmodel.build("mobilenet_v2", alpha=alpha)
    with pytest.raises(KnobError):
        costmodel.load(spec(), alpha=alpha)


@pytest.mark.parametrize("res", [0, -3, 1.5, math.nan, math.inf, "224", True])
def test_resolution_api(spec, res):
    with pytest.raises(KnobError):
        costmodel.build("mobilenet_v2", res=res)
    with pytest.raises(KnobError):
        costmodel.load(spec(), res=res)


def test_resolution_cli(cli, spec):
    one_line_error(cli("table", "mobilenet_v2", "--res", "0"), "resolution 0 is too small", "at least 32")
    one_line_error(cli("table", "mobilenet_v2", "--res", "abc"), "--res")
    one_line_error(cli("table", spec(), "--res", "-4"), "resolution must be a positive integer, got -4")
    one_line_error(cli("table", "mobilenet_v2", "--classes", "0"), "classes must be a positive integer")


def test_resolution_that_shrinks_a_layer_to_nothing(cli, spec):
    p = spec("blocks:\n  - {type: conv, c: 8, k: 3, s: 2, padding: 0}\n"
             "  - {type: conv, c: 8, k: 3, s: 2, padding: 0}\n")
    assert costmodel.load(p, res=7).output_shape == (8, 1, 1)
    msg = one_line_error(cli("table", p, "--res", "4"), "net.yaml:3:", "larger than its padded input 1x1",
                         "use a larger resolution")
    assert "block 1" in msg


def test_groups_that_do_not_divide_the_channels(cli, spec):
    one_line_error(cli("table", spec("blocks:\n  - {type: conv, c: 16, groups: 3}\n")), "net.yaml:2:",
                   "groups=3 must divide both input channels (3) and output channels (16)")
    one_line_error(cli("table", "shufflenet_v1", "--groups", "5"), "--groups 5 is not supported")
    g = GraphBuilder("g", (6, 8, 8))
    with pytest.raises(GraphError, match=r"node 'c' \(conv2d\): groups=4 must divide"):
        g.conv("input", 8, 3, groups=4, name="c")


def test_kernel_larger_than_padded_input():
    g = GraphBuilder("g", (3, 4, 4))
    with pytest.raises(GraphError, match=r"kernel 7x7 \(dilation 1\) is larger than its padded input 4x4"):
        g.add(Conv2d(8, 7), "input", "c")
    with pytest.raises(GraphError, match="kernel must be an int or a pair of ints, got 2.5"):
        g.conv("input", 8, 2.5, name="d")


def test_bad_spec_files_cli(cli, spec):
    one_line_error(cli("table", spec("blocks: [conv_c8\n")), "net.yaml:2:1: malformed YAML")
    one_line_error(cli("table", spec("")), "the file is empty")
    one_line_error(cli("table", spec("blocks:\n  - {type: conv, c: 8, name: a, inputs: [b]}\n"
                                     "  - {type: conv, c: 8, name: b}\n")), "net.yaml:2:", "defined later", "cycle")
    one_line_error(cli("table", spec("blocks:\n  - {type: add, inputs: [input, x]}\n")), "net.yaml:2:", "dangling")
    one_line_error(cli("table", spec("blocks:\n  - {type: conv3d, c: 8}\n")), "unknown block type 'conv3d'")
    one_line_error(cli("table", spec(GOOD, "net.json")), "net.json:1:1: malformed JSON")
    one_line_error(cli("table", spec(GOOD, "net.yaml"), "--variant", "shallow"), "spec files take no knobs")
    (p := spec()) and os.chmod(os.path.dirname(p), 0o755)
    bad = os.path.join(os.path.dirname(p), "latin1.yaml")
    with open(bad, "wb") as f:
        f.write(b"name: caf\xe9\nblocks: [gap]\n")
    one_line_error(cli("table", bad), "not a text file")


def test_random_onnx_bytes_cli(cli, tmp_path):
    p = tmp_path / "r.onnx"
    p.write_bytes(bytes(range(256)) * 3)
    one_line_error(cli("table", str(p)), "r.onnx")


def test_no_traceback_in_a_real_process(spec):
    r = run_subprocess("table", spec("blocks:\n  - {type: conv, c: 8, k: [1, 2, 3]}\n"))
    one_line_error(r, "net.yaml:2:", "kernel must be an int or a pair of ints, got (1, 2, 3)")


# ----------------------------------------------------------------------------- output files
def test_unwritable_output_path(cli, tmp_path):
    one_line_error(cli("table", "mobilenet_v2", "-o", str(tmp_path / "missing" / "t.txt")), "does not exist")
    one_line_error(cli("table", "mobilenet_v2", "-o", str(tmp_path)), "is a directory")
    one_line_error(cli("show", "mobilenet_v2", "-o", str(tmp_path / "missing" / "s.yaml")), "does not exist")
    if os.geteuid() != 0:  # root may write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        os.chmod(ro, 0o555)
        one_line_error(cli("table", "mobilenet_v2", "-o", str(ro / "t.txt")), "not writable")


def test_a_failure_leaves_nothing_half_written(cli, spec, tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("previous")
    one_line_error(cli("table", spec("blocks:\n  - {type: conv, c: 8, groups: 5}\n"), "-o", str(out)), "groups=5")
    one_line_error(cli("show", "mobilenet_v2", "--alpha", "0", "-o", str(out)), "alpha")
    assert out.read_text() == "previous"
    assert sorted(os.listdir(tmp_path)) == ["net.yaml", "out.txt"]   # no temporary files left behind
    assert cli("show", "mobilenet_v2", "-o", str(out)).code == 0
    assert costmodel.load(str(out.rename(tmp_path / "v2.yaml"))).name == "mobilenet_v2"


# ----------------------------------------------------------------------------- every command takes a spec path
NET_COMMANDS = [c for c in COMMANDS if c not in ("list", "reproduce", "guidelines")]


@pytest.mark.parametrize("command", NET_COMMANDS)
def test_every_network_command_reads_spec_files(cli, spec, tmp_path, command):
    """A spec error reaches every command that takes networks, named by file and line (through
    common.load_graph, or costmodel.specfile.load for the grid commands)."""
    from costmodel.cli import cli as group
    cmd = group.get_command(None, command)
    if not any(p.name in ("net", "nets") for p in cmd.params):
        pytest.skip(f"{command} takes no network")
    extra = {"export": ["-o", str(tmp_path / "out.xlsx")], "plot": ["-o", str(tmp_path / "out.png")]}
    r = cli(command, spec("blocks:\n  - gap\n  - {type: fc, c: -3}\n"), *extra.get(command, []))
    if "Missing option" in r.err:
        pytest.skip(f"{command} needs more options than NET")
    if command == "plot":  # plots published accuracy: a user's network has none, and it says so
        one_line_error(r, "net.yaml: plot places published top-1 accuracies")
    else:
        one_line_error(r, "net.yaml:3:", "block 1 (fc)")
    assert not os.path.exists(tmp_path / "out.xlsx") and not os.path.exists(tmp_path / "out.png")


@pytest.mark.parametrize("command", ["sweep", "fit", "export"])
def test_grid_commands_run_on_a_spec_file(cli, spec, tmp_path, command):
    if command not in COMMANDS:
        pytest.skip(f"no {command} command yet")
    out = ["-o", str(tmp_path / "o.xlsx")] if command == "export" else ["--format", "json"]
    r = cli(command, spec(), "--alpha", "0.5,1", "--res", "32,64", *out)
    assert r.code == 0, r
    if command != "export":
        rows = json.loads(r.out)
        exact = {(a, res): analyze(costmodel.load(spec(), alpha=a, res=res)).totals["madds"]
                 for a in (0.5, 1.0) for res in (32, 64)}
        assert {(x["alpha"], x["resolution"]): x["madds"] for x in rows} == exact


@pytest.mark.parametrize("command", [c for c in ("table", "memory", "verify", "show") if c in COMMANDS])
def test_commands_run_on_a_spec_file(cli, spec, command):
    r = cli(command, spec(), "--res", "16")
    assert r.code == 0, r


# ----------------------------------------------------------------------------- huge resolutions stay exact
def test_huge_resolution_is_exact():
    """MobileNetV2's five stride-2 stages divide R = 32 m exactly, so every map is (R / 2^k)^2 and
    the Mult-Adds are a * m^2 + b with integer a, b: fit at m = 1, 2, predict far beyond int64."""
    mad = {m: analyze(costmodel.build("mobilenet_v2", res=32 * m)).totals["madds"] for m in (1, 2, 3)}
    b = (4 * mad[1] - mad[2]) // 3
    a = mad[1] - b
    assert a * 9 + b == mad[3]
    for m in (31_250, 10 ** 12):   # R = 1,000,000 and R = 3.2e13 (Mult-Adds ~ 6e24 > 2^63)
        t = analyze(costmodel.build("mobilenet_v2", res=32 * m)).totals
        assert t["madds"] == a * m * m + b and type(t["madds"]) is int
    assert a * 10 ** 24 + b > 2 ** 63


def test_huge_resolution_cli_json_is_exact(cli):
    r = cli("table", "mobilenet_v2", "--res", "1000000", "--format", "json")
    assert r.code == 0
    t = json.loads(r.out)["totals"]
    madds = analyze(costmodel.build("mobilenet_v2", res=1_000_000)).totals["madds"]
    assert t["madds"] == madds == 5_968_875_001_280_000


def test_huge_resolution_sweep_is_exact_or_rejected():
    """The vectorized sweep (costmodel.sweep) must equal build() exactly where int64 would overflow:
    Mult-Adds pass 2**63 near R = 2**32, and R = 3.2e13 is beyond any fixed-width product."""
    sweep = pytest.importorskip("costmodel.sweeps")
    resolutions = [224, 2 ** 32, 32 * 10 ** 12]
    try:
        df = sweep.sweep("mobilenet_v2", alphas=[0.5, 1.0], resolutions=resolutions)
    except CostModelError as e:  # rejecting is acceptable, in one line
        assert "\n" not in str(e)
        return
    assert df["madds"].dtype.kind in "iO" and df["flops"].dtype.kind in "iO"   # never float
    for row in df.itertuples():
        t = analyze(costmodel.build("mobilenet_v2", alpha=row.alpha, res=int(row.resolution))).totals
        assert (int(row.madds), int(row.params), int(row.flops)) == (t["madds"], t["params"], t["flops"])
    assert int(df["madds"].iloc[-1]) > 2 ** 63


# ----------------------------------------------------------------------------- random invalid specs
GARBAGE = st.one_of(st.integers(-3, 3), st.just(10 ** 30), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=4), st.booleans(), st.none(), st.lists(st.integers(-2, 4), max_size=3),
                    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))
KEYS = st.sampled_from(["type", "c", "k", "s", "t", "exp", "se", "act", "groups", "dilation", "padding", "repeat",
                        "name", "inputs", "kind", "p", "bias", "bn", "width", "s1x1", "e3x3", "residual", "zzz"])
TOP = st.sampled_from(["name", "width", "alpha", "classes", "input", "blocks", "in_channels", "resolution", "x"])


def base_spec():
    return {"name": "n", "input": {"in_channels": 3, "resolution": 16},
            "blocks": [{"type": "conv", "c": 8, "k": 3, "s": 2, "name": "a"},
                       {"type": "ir", "t": 6, "c": 8, "se": 0.25, "name": "b"},
                       {"type": "fire", "s1x1": 4, "e1x1": 8, "e3x3": 8},
                       {"type": "add", "inputs": ["a", "b"]},
                       {"type": "pool", "kind": "max", "k": 3, "s": 2, "padding": 1},
                       "dwsep_c16_s2", {"type": "gap"}, {"type": "fc", "c": 10}]}


@st.composite
def invalid_specs(draw):
    d = base_spec()
    for _ in range(draw(st.integers(1, 3))):
        what = draw(st.sampled_from(["arg", "arg", "del", "top", "string"]))
        i = draw(st.integers(0, len(d["blocks"]) - 1)) if isinstance(d.get("blocks"), list) and d["blocks"] else None
        if what == "top" or i is None:
            d[draw(TOP)] = draw(GARBAGE)
        elif what == "string":
            d["blocks"][i] = draw(st.text(alphabet="conv_irk0123s=,.-ab ", max_size=14))
        elif isinstance(d["blocks"][i], dict):
            if what == "del" and d["blocks"][i]:
                d["blocks"][i].pop(draw(st.sampled_from(sorted(d["blocks"][i]))))
            else:
                d["blocks"][i][draw(KEYS)] = draw(GARBAGE)
    return d


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invalid_specs(), st.sampled_from(["yaml", "json"]))
def test_random_invalid_specs_fail_cleanly(data, fmt):
    try:
        text = json.dumps(data, allow_nan=True) if fmt == "json" else yaml.safe_dump(data)
    except (TypeError, ValueError):
        return
    try:
        g = spec_from_data(parse_text(text, "r." + fmt, fmt), "r." + fmt).build()
        analyze(g)  # some mutations stay valid
    except CostModelError as e:
        assert "\n" not in str(e) and str(e).startswith("r." + fmt), str(e)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_random_text_fails_cleanly(text):
    try:
        spec_from_data(parse_text(text, "t.yaml"), "t.yaml").build(res=16)
    except CostModelError as e:
        assert "\n" not in str(e)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="convdwsepirgafcl_0123456789ksxrte=,.- ", min_size=1, max_size=30))
def test_random_block_strings_fail_cleanly(text):
    try:
        costmodel.load(text + " gap", res=16)
    except CostModelError as e:
        assert "\n" not in str(e)


# ----------------------------------------------------------------------------- review fixes
@pytest.mark.parametrize("p", [-1, 1, 1.5, -0.1, math.inf, "half", True])
def test_dropout_probability_is_checked_by_the_op(p):
    from costmodel.ops import Dropout
    with pytest.raises(GraphError, match=r"dropout probability p must be a number with 0 <= p < 1"):
        Dropout(p)
    assert Dropout(0.0).p == 0.0 and Dropout(0.999).p == 0.999


def test_dropout_probability_every_entry_point(cli, spec, tmp_path):
    one_line_error(cli("table", "conv_c8 dropout_p-1"), "block 1 (dropout)", "0 <= p < 1, got -1")
    one_line_error(cli("table", "conv_c8 dropout_p1.5"), "block 1 (dropout)", "0 <= p < 1, got 1.5")
    one_line_error(cli("table", spec("blocks:\n  - {type: conv, c: 8}\n  - {type: dropout, p: 2}\n")),
                   "net.yaml:3: block 1 (dropout)", "0 <= p < 1, got 2")
    with pytest.raises(GraphError, match="0 <= p < 1"):
        costmodel.load("conv_c8 dropout_p1")
    with pytest.raises(GraphError, match="0 <= p < 1"):
        make_op("dropout", p=3)
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    m = helper.make_model(helper.make_graph([helper.make_node("Dropout", ["x"], ["y"], name="drop", ratio=1.5)],
                                            "g", [x], [y]), opset_imports=[helper.make_opsetid("", 11)])
    path = str(tmp_path / "drop.onnx")
    onnx.save(m, path)
    one_line_error(cli("table", path), "drop.onnx", "0 <= p < 1, got 1.5")


@pytest.mark.parametrize("text,name,kind", [
    ("[1, 2]", "net.json", "got a JSON array"),
    ("- conv_c8\n- gap\n", "net.yaml", "got a YAML list"),
    ('"conv_c8"', "net.json", "got the string 'conv_c8'"),
    ('{"blocks": [[1, 2]]}', "net.json", "block 0 must be a mapping with a 'type' or a block string like "
                                         "'ir_r2_s2_e6_c24', got a JSON array"),
    ("blocks:\n  - [conv_c8]\n", "net.yaml", "got a YAML list"),
    ("blocks:\n  - {type: conv, c: 8, k: {a: 1}}\n", "net.yaml", "k must be a number, string, true/false, null or "
                                                                  "a list of those, got a YAML mapping"),
])
def test_errors_name_json_and_yaml_kinds_not_classes(cli, spec, text, name, kind):
    msg = one_line_error(cli("table", spec(text, name)), kind)
    for internal in ("LineList", "LineDict", "list", "dict", "tuple"):
        assert f"got {internal}" not in msg


def test_block_string_settings_errors_cli(cli):
    one_line_error(cli("table", "@res0 conv_c8"), "column 1: res must be a positive integer, got '@res0'")
    one_line_error(cli("table", "@width=round conv_c8"), "unknown width policy 'round'", "round_min1")
    one_line_error(cli("table", "conv_c8 @res96 gap"), "column 9", "settings come before the first block")
