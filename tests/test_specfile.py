"""Spec files and block strings: the format, round trips with every registry network, error
locations, and property-based tests over random valid specs."""
import json
import os

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import costmodel
from costmodel import SpecError, analyze
from costmodel.blockstring import format_block, parse_block, parse_blocks
from costmodel.cli import cli
from costmodel.registry import build, networks
from costmodel.spec import NetSpec, blk, expand
from costmodel.specfile import parse_text, read_spec, spec_from_data
from costmodel.specwriter import dump_spec, spec_to_data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "my_net.yaml")


def write(tmp_path, text, name="net.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def signature(graph):
    return [(n.name, n.op, n.in_shapes, n.out_shapes) for n in graph]


# ----------------------------------------------------------------------------- exact counts
TINY = """\
name: tiny
input: {in_channels: 3, resolution: 32}
blocks:
  - {type: conv, c: 8, k: 3, s: 2}
  - dwsep_c16
  - {type: gap}
  - {type: fc, c: 10}
"""


def test_tiny_spec_exact_counts(tmp_path):
    g = costmodel.load(write(tmp_path, TINY))
    t = analyze(g).totals
    # conv 3x3/2 3->8 on 32 -> 16x16: 8*27*256 madds; dw 3x3 on 16x16x8; pw 8->16; fc 16->10 (+10 bias)
    assert t["madds"] == 8 * 27 * 256 + 9 * 8 * 256 + 8 * 16 * 256 + 16 * 10 == 106_656
    assert t["params"] == 8 * 27 + 9 * 8 + 8 * 16 + 16 * 10 + 10 == 586
    assert t["params_with_bn"] == 586 + 2 * (8 + 8 + 16)
    # the default policy round_min1 halves 8 -> 4 and 16 -> 8 at alpha 0.5; res 64 quadruples the conv part
    t2 = analyze(costmodel.load(write(tmp_path, TINY), alpha=0.5, res=64)).totals
    assert t2["madds"] == 4 * (4 * 27 * 256 + 9 * 4 * 256 + 4 * 8 * 256) + 8 * 10
    # width: divisible8 rounds 8 -> 8 and 16 -> 8
    t3 = analyze(costmodel.load(write(tmp_path, "width: divisible8\n" + TINY), alpha=0.5, res=64)).totals
    assert t3["madds"] == 4 * (8 * 27 * 256 + 9 * 8 * 256 + 8 * 8 * 256) + 8 * 10


def test_example_file_is_the_python_spec():
    sf = read_spec(EXAMPLE)
    assert sf.spec.default_alpha == 1.0 and sf.spec.default_classes == 100 and sf.spec.default_res == 160
    py = NetSpec("my_net", (
        blk("conv", c=16, k=3, s=2, act="hswish"),
        blk("ir", t=1, c=16),
        blk("ir", n=2, t=4, c=24, s=2),
        blk("ir", name="stage3", exp=96, c=40, k=5, s=2, se=0.25, act="hswish"),
        blk("ir", name="refine", exp=120, c=40, k=5, se=0.25, act="hswish"),
        blk("conv", name="side", inputs=["stage3"], c=40, k=1, act=None),
        blk("concat", name="joined", inputs=["refine", "side"]),
        blk("ir", n=2, s=2, t=6, c=80, act="hswish"),
        blk("conv", c=480, k=1, act="hswish", width="grow"),
        blk("gap"), blk("dropout", p=0.2), blk("fc"),
    ), width="divisible8", default_res=160)
    for alpha, res in ((1.0, 160), (0.75, 128)):
        g = sf.build(alpha, res)
        ref = expand(py, alpha, res, 100)
        assert signature(g) == signature(ref)
        assert analyze(g).totals == analyze(ref).totals
    g = sf.build()
    assert g.node("joined.concat").out_shapes == ((80, 20, 20),) and g.output_shape == (100,)
    r = CliRunner().invoke(cli, ["table", EXAMPLE, "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["totals"]["madds"] == analyze(g).totals["madds"]


# ----------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("name", list(networks()))
def test_show_round_trip_every_network(tmp_path, name):
    ref = build(name)
    for fmt in ("yaml", "json"):
        r = CliRunner().invoke(cli, ["show", name, "--format", fmt])
        assert r.exit_code == 0, r.output
        g = costmodel.load(write(tmp_path, r.output, f"net.{fmt}"))
        assert analyze(g).totals == analyze(ref).totals
        assert signature(g) == signature(ref)


def test_show_alpha_and_knobs_round_trip(tmp_path):
    for name, args, kw in (("mobilenet_v2", ["--alpha", "0.35", "--res", "96"], dict(alpha=0.35, res=96)),
                           ("shufflenet_v2", ["--alpha", "0.5"], dict(alpha=0.5)),
                           ("mobilenet_v1", ["--variant", "shallow"], dict(variant="shallow"))):
        r = CliRunner().invoke(cli, ["show", name, *args])
        assert r.exit_code == 0, r.output
        g = costmodel.load(write(tmp_path, r.output))
        assert signature(g) == signature(build(name, **kw))


def test_show_block_string_round_trip():
    r = CliRunner().invoke(cli, ["show", "mobilenet_v2", "--format", "blocks"])
    assert r.exit_code == 0
    assert r.output.startswith("@res224 @classes1000 @width=divisible8 @depth_rule=ceil conv_c32_k3_s2_relu6 "
                               "ir_r1_e1_c16_s1 ir_r2_e6_c24_s2 ")
    assert signature(costmodel.load(r.output.strip())) == signature(build("mobilenet_v2"))


#: registry networks whose blocks carry a name or word the block-string grammar cannot hold
#: ('_' in a name, '3x3', the string 'none'): show --format blocks refuses them, naming the block
NOT_BLOCK_STRINGS = {"squeezenet1_0", "squeezenet1_1", "xception", "googlenet", "resnet50"}


@pytest.mark.parametrize("name", list(networks()))
def test_show_blocks_round_trip_every_network(name):
    """show --format blocks -> load: the same nodes, shapes and totals (resolution, classes, alpha
    and the width policy travel as @ settings)."""
    r = CliRunner().invoke(cli, ["show", name, "--format", "blocks"])
    if name in NOT_BLOCK_STRINGS:
        assert r.exit_code == 2 and "cannot be written as a block string" in r.output and "--format yaml" in r.output
        return
    assert r.exit_code == 0, r.output
    ref = build(name)
    g = costmodel.load(r.output.strip())
    assert analyze(g).totals == analyze(ref).totals
    assert signature(g) == signature(ref)


@pytest.mark.parametrize("src,args,ref", [
    (EXAMPLE, [], lambda: read_spec(EXAMPLE).build()),
    (EXAMPLE, ["--alpha", "0.75", "--res", "128", "--classes", "7"], lambda: read_spec(EXAMPLE).build(0.75, 128, 7)),
    ("mobilenet_v2", ["--alpha", "0.35", "--res", "96", "--classes", "10"],
     lambda: build("mobilenet_v2", alpha=0.35, res=96, classes=10)),
    ("mobilenet_v1", ["--alpha", "0.5"], lambda: build("mobilenet_v1", alpha=0.5)),
    ("mobilenet_v3_small", ["--alpha", "0.75", "--res", "160"], lambda: build("mobilenet_v3_small", alpha=0.75,
                                                                                 res=160)),
    ("shufflenet_v2", ["--alpha", "0.5"], lambda: build("shufflenet_v2", alpha=0.5)),
    ("conv_c20_k1 conv_c9_k1", ["--alpha", "0.5", "--res", "8"], None),
])
def test_show_blocks_keeps_network_settings(src, args, ref):
    """The review's case: my_net.yaml (160 px, 100 classes, divisible8) printed as a block string
    used to load back at 224 px / 1000 classes / 132.7 M Mult-Adds instead of 67.5 M."""
    r = CliRunner().invoke(cli, ["show", src, *args, "--format", "blocks"])
    assert r.exit_code == 0, r.output
    g = costmodel.load(r.output.strip())
    want = ref() if ref else costmodel.load(src, alpha=0.5, res=8)
    assert signature(g) == signature(want)
    assert analyze(g).totals == analyze(want).totals
    if src == EXAMPLE and not args:
        assert r.output.startswith("@res160 @classes100 @width=divisible8 ")
        assert analyze(g).totals["madds"] == 67_519_488
        # the same through the command line: costmodel table "$(costmodel show my_net.yaml --format blocks)"
        t = CliRunner().invoke(cli, ["table", r.output.strip(), "--format", "json"])
        assert t.exit_code == 0 and json.loads(t.output)["totals"]["madds"] == 67_519_488


def test_block_string_network_settings():
    from costmodel.blockstring import parse_network
    settings, blocks = parse_network("@res160 @classes=100 @alpha0.35 @in1 @width=floor_min8 conv_c32_s2 gap fc")
    assert settings == {"resolution": 160, "classes": 100, "alpha": 0.35, "in_channels": 1, "width": "floor_min8"}
    assert blocks == (blk("conv", c=32, s=2), blk("gap"), blk("fc"))
    g = costmodel.load("@res32 @classes10 @alpha0.5 @in1 @width=floor_min8 conv_c32_s2 gap fc")
    assert g.input_shape == (1, 32, 32) and g.output_shape == (10,) and g.meta["alpha"] == 0.5
    assert g.nodes[0].out_shapes == ((16, 16, 16),)                     # floor_min8(32, 0.5) = 16
    assert costmodel.load("@alpha0.25 @width=floor_min8 conv_c16 gap").nodes[0].out_shapes[0][0] == 8
    # command-line / API values override the settings, as they override a spec file's defaults
    g = costmodel.load("@res32 @classes10 conv_c8_s2 gap fc", res=64, classes=3)
    assert g.input_shape == (3, 64, 64) and g.output_shape == (3,)
    # a one-element list survives the round trip as 'k3,'
    assert parse_block("mixconv_c16_k3,") == blk("mixconv", c=16, k=(3,))
    assert format_block(blk("mixconv", c=16, k=(3,))) == "mixconv_c16_k3,"


@pytest.mark.parametrize("text,what", [
    ("@res0 conv_c8", "column 1: res must be a positive integer, got '@res0'"),
    ("@res160 @res96 conv_c8", "column 9: network setting '@res96' given twice"),
    ("conv_c8 @res96", "column 9: network setting '@res96' after a block"),
    ("@alpha-1 conv_c8", "alpha must be a positive finite number"),
    ("@width=round conv_c8", "unknown width policy 'round' in '@width=round'; accepted: floor_min8"),
    ("@deep2 conv_c8", "cannot read network setting '@deep2'; expected @KEYNUMBER or @KEY=VALUE"),
    ("@res160", "network settings but no block"),
])
def test_block_string_setting_errors(text, what):
    with pytest.raises(SpecError) as e:
        costmodel.load(text)
    assert what in str(e.value) and f"block string {text!r}" in str(e.value)


def test_settings_are_not_blocks_in_a_spec_file(tmp_path):
    with pytest.raises(SpecError, match=r"net\.yaml:3: block 1: .*'@res160' is a network setting"):
        read_spec(write(tmp_path, "blocks:\n  - conv_c8\n  - '@res160'\n"))


# ----------------------------------------------------------------------------- default width policy
def test_user_networks_build_as_written_at_alpha_1(tmp_path):
    """divisible8 used to turn c: 20 into 24 channels and c: 9 into 16, silently."""
    net = "conv_c20_k1 conv_c12_k1 conv_c9_k1"
    want = [20, 12, 9]

    def widths(g):
        return [n.out_shapes[0][0] for n in g if n.op.kind == "conv2d"]

    assert widths(costmodel.load(net)) == want
    spec = write(tmp_path, "blocks: [conv_c20_k1, {type: conv, c: 12, k: 1}, {type: conv, c: 9, k: 1}]\n")
    assert widths(costmodel.load(spec)) == want
    assert read_spec(spec).spec.width == "round_min1"
    ir = write(tmp_path, "blocks: [{type: ir, t: 1, c: 9}, {type: ir, exp: 20, c: 12}]\n", "ir.yaml")
    assert widths(costmodel.load(ir)) == [3, 9, 20, 20, 12]
    # round_min1 scales too: nearest integer, halves up, at least 1
    assert widths(costmodel.load(net, alpha=0.5)) == [10, 6, 5]
    assert widths(costmodel.load(net, alpha=0.01)) == [1, 1, 1]
    # width: chooses a zoo policy explicitly
    assert widths(costmodel.load("@width=divisible8 " + net)) == [24, 16, 16]
    d8 = write(tmp_path, "width: divisible8\nblocks: [conv_c20_k1, conv_c9_k1]\n", "d8.yaml")
    assert widths(costmodel.load(d8)) == [24, 16]
    r = CliRunner().invoke(cli, ["table", net, "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.output)["totals"]["params"] == 3 * 20 + 20 * 12 + 12 * 9


def test_round_min1_policy():
    from costmodel.rounding import POLICIES, round_min1
    assert POLICIES["round_min1"] is round_min1
    assert [round_min1(c, 1.0) for c in (1, 9, 20, 1280)] == [1, 9, 20, 1280]
    assert round_min1(20, 0.35) == 7 and round_min1(10, 0.25) == 3 and round_min1(3, 0.1) == 1


@pytest.mark.parametrize("name,alpha", [("mobilenet_v1", 0.5), ("mobilenet_v2", 0.5), ("shufflenet_v2", 0.5),
                                        ("vgg16", 1.0)])
def test_show_writes_the_registry_networks_own_policy(tmp_path, name, alpha):
    """The zoo keeps its own policies (floor_min8, divisible8, ...); show writes them, so the new
    spec-file default never applies to a shown network."""
    width = networks()[name].spec(alpha=1.0).width
    r = CliRunner().invoke(cli, ["show", name, "--alpha", str(alpha)])
    assert r.exit_code == 0 and f"\nwidth: {width}\n" in r.output
    assert signature(costmodel.load(write(tmp_path, r.output))) == signature(build(name, alpha=alpha))


def test_to_dict_form_is_accepted():
    spec = networks()["mobilenet_v1"].spec(alpha=1.0)
    text = json.dumps(spec.to_dict())
    sf = spec_from_data(parse_text(text, "v1.json", "json"), "v1.json")
    assert sf.spec.blocks == tuple(b.__class__(b.type, dict(b.args), b.repeat, b.name, b.inputs)
                                   for b in spec.blocks)


# ----------------------------------------------------------------------------- block strings
def test_block_string_grammar():
    assert parse_block("ir_r2_k3_s2_e6_c24") == blk("ir", n=2, k=3, s=2, t=6, c=24)
    assert parse_block("conv_k3_s2_c32_relu6") == blk("conv", k=3, s=2, c=32, act="relu6")
    assert parse_block("ir_x96_c40_k5_se0.25_hswish_se-act=hswish") == blk(
        "ir", exp=96, c=40, k=5, se=0.25, act="hswish", se_act="hswish")
    assert parse_block("pool_k3_s2_kind=avg_padding=1_ceil-mode=true") == blk(
        "pool", k=3, s=2, kind="avg", padding=1, ceil_mode=True)
    assert parse_block("conv_c8_k1,3_noact") == blk("conv", c=8, k=(1, 3), act=None)
    assert parse_block("shufflenet_v2_unit_c116_s2") == blk("shufflenet_v2_unit", c=116, s=2)
    assert parse_block("add_inputs=a,b_name=j") == blk("add", inputs=["a", "b"], name="j")


@pytest.mark.parametrize("text,col,what", [
    ("ir_r2_q3_c24", 7, "cannot read option 'q3'"),
    ("irx_c24", 1, "unknown block type 'irx'"),
    ("gap_c24", 5, "gap has no argument 'c'"),
    ("ir_r0_c24", 4, "repeat must be a positive integer"),
    ("conv_c8_c16", 9, "argument 'c' given twice"),
    ("conv_c8_=3", 9, "needs the form ARG=VALUE"),
])
def test_block_string_errors_give_the_column(text, col, what):
    with pytest.raises(SpecError) as e:
        parse_block(text)
    assert f"column {col}" in str(e.value) and what in str(e.value)


def test_block_string_network_on_the_command_line():
    net = "conv_k3_s2_c32 ir_e1_c16 ir_r2_s2_e6_c24 gap fc"
    spec = NetSpec("blocks", parse_blocks(net))
    r = CliRunner().invoke(cli, ["table", net, "--res", "96", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["totals"] == analyze(expand(spec, 1.0, 96)).totals
    with pytest.raises(SpecError, match="block string 'conv_k3_s2_c32 ir_e1_zz16 gap', column 22: .*'zz16'"):
        costmodel.load("conv_k3_s2_c32 ir_e1_zz16 gap")
    # one block without whitespace: a block string when it names no registry network
    assert costmodel.load("conv_k3_s2_c32", res=32).output_shape == (32, 16, 16)
    with pytest.raises(costmodel.KnobError, match="unknown network 'mobilenet_v9'"):
        costmodel.load("mobilenet_v9")


# ----------------------------------------------------------------------------- error locations
@pytest.mark.parametrize("text,pattern", [
    ("", r"net\.yaml: the file is empty"),
    ("# only a comment\n", r"net\.yaml: the file is empty"),
    ("blocks: [conv\n", r"net\.yaml:2:1: malformed YAML"),
    ("name: x\nblocks:\n  - {type: conv, c: 8\n  - gap\n", r"net\.yaml:5:1: malformed YAML: expected ',' or '}'.* \(while parsing a flow mapping on line 3\)"),  # noqa: E501
    ("- conv_c8\n", r"net\.yaml:1: a spec must be a mapping"),
    ("name: x\nblock:\n  - gap\n", r"net\.yaml:2: unknown key 'block'; accepted: name"),
    ("name: x\nname: y\nblocks: [gap]\n", r"net\.yaml:2: duplicate key 'name' \(first given on line 1\)"),
    ("blocks: []\n", r"net\.yaml:1: 'blocks' must be a non-empty list"),
    ("blocks:\n  - {type: conv, c: 8}\n  - {type: convv, c: 8}\n",
     r"net\.yaml:3: block 1: unknown block type 'convv' \(did you mean conv( or \w+)?\?\); accepted: .*dwsep"),
    ("blocks:\n  - {type: conv, c: 8}\n  - type: ir\n    c: 16\n    t: 6\n    kernel: 3\n",
     r"net\.yaml:6: block 1 \(ir\): unknown argument 'kernel' for ir; accepted: type, name, inputs, repeat, fixed_depth, precision, c, t"),  # noqa: E501
    ("blocks:\n  - {type: conv, c: 8}\n  - {type: conv, c: -8}\n",
     r"net\.yaml:3: block 1 \(conv\): .*channel count must be a positive number, got -8"),
    ("blocks:\n  - {type: conv, c: eight}\n", r"net\.yaml:2: block 0 \(conv\): c must be an integer, got 'eight'"),
    ("blocks:\n  - {type: ir, c: 8, t: .nan}\n", r"net\.yaml:2: block 0 \(ir\): t must be a finite number"),
    ("blocks:\n  - {type: conv, c: 8, act: mish}\n", r"net\.yaml:2: block 0 \(conv\): .*unknown activation 'mish'"),
    ("blocks:\n  - {type: conv}\n", r"net\.yaml:2: block 0 \(conv\): missing argument\(s\) c for conv"),
    ("blocks:\n  - {type: conv, c: 8, repeat: 0}\n", r"net\.yaml:2: block 0 \(conv\): repeat must be an integer from 1 to 10000, got 0"),  # noqa: E501
    ("blocks:\n  - {type: conv, c: 8, name: a}\n  - {type: conv, c: 8, name: b, inputs: [c]}\n"
     "  - {type: conv, c: 8, name: c}\n",
     r"net\.yaml:3: block 1 \(b\): input 'c' is block 2 on line 4, defined later: a forward reference \(cycle\)"),
    ("blocks:\n  - {type: conv, c: 8, name: a, inputs: [a]}\n",
     r"net\.yaml:2: block 0 \(a\): reads its own output 'a': a cycle"),
    ("blocks:\n  - {type: conv, c: 8, name: a}\n  - {type: add, inputs: [a, nowhere]}\n",
     r"net\.yaml:3: block 1 \(add\): input 'nowhere' is not the name of any block \(dangling\); known here: input, a"),
    ("blocks:\n  - {type: conv, c: 8, name: a}\n  - {type: conv, c: 8, name: a}\n",
     r"net\.yaml:3: block 1 \(a\): name 'a' is already used by block 0"),
    ("blocks:\n  - {type: conv, c: 8}\n  - {type: add}\n", r"net\.yaml:3: block 1 \(add\): add needs 'inputs'"),
    ("input: {in_channels: 3, resolution: 0}\nblocks: [gap]\n", r"net\.yaml:1: resolution must be a positive"),
    ("alpha: -1\nblocks: [gap]\n", r"net\.yaml:1: alpha must be a positive finite number, got -1"),
    ("width: round\nblocks: [gap]\n", r"net\.yaml:1: unknown width policy 'round'; accepted: floor_min8"),
    ("blocks:\n  - conv_c8\n  - ir_c16_zz\n", r"net\.yaml:3: block 1: block string 'ir_c16_zz', column 8"),
    ("blocks:\n  - {type: conv, c: 24, groups: 5}\n",
     r"net\.yaml:2: block 0 \(conv\): .*groups=5 must divide both input channels \(3\)"),
    ("input: {in_channels: 3, resolution: 8}\nblocks:\n  - {type: conv, c: 8}\n  - {type: conv, c: 8, k: 11, padding: 0}\n",  # noqa: E501
     r"net\.yaml:4: block 1 \(conv\): .*kernel 11x11 \(dilation 1\) is larger than its padded input 8x8"),
    ("input: {in_channels: 3, resolution: 4}\nblocks:\n  - {type: pool, k: 3, s: 2}\n  - {type: pool, k: 3, s: 2}\n",
     r"net\.yaml:4: block 1 \(pool\): .*larger than its padded input 1x1; use a larger resolution"),
])
def test_errors_name_file_line_block(tmp_path, text, pattern):
    p = write(tmp_path, text)
    with pytest.raises(costmodel.CostModelError) as e:
        costmodel.load(p)
    msg = str(e.value)
    assert "\n" not in msg
    assert __import__("re").search(pattern, msg), msg


def test_json_errors_and_lines(tmp_path):
    p = write(tmp_path, '{"blocks": [\n  {"type": "conv", "c": 8},\n  {"type": "conv", "c": 8,}\n]}', "n.json")
    with pytest.raises(SpecError, match=r"n\.json:3:\d+: malformed JSON"):
        costmodel.load(p)
    p = write(tmp_path, '{"blocks": [\n  {"type": "conv", "c": 8},\n  {"type": "gapp"}\n]}', "n.json")
    with pytest.raises(SpecError, match=r"n\.json:3: block 1: unknown block type 'gapp'"):
        costmodel.load(p)


def test_overrides_and_knobs(tmp_path):
    p = write(tmp_path, "alpha: 0.5\nclasses: 7\ninput: {resolution: 64}\nblocks: [conv_c64_s2, gap, fc]\n")
    g = costmodel.load(p)
    assert (g.meta["alpha"], g.meta["resolution"], g.meta["classes"]) == (0.5, 64, 7)
    assert g.node("conv0").op.out_channels == 32 and g.output_shape == (7,)
    g = costmodel.load(p, alpha=1.0, res=32, classes=3)
    assert g.node("conv0").op.out_channels == 64 and g.input_shape == (3, 32, 32) and g.output_shape == (3,)
    r = CliRunner().invoke(cli, ["table", p, "--classes", "5", "--format", "json"])
    assert json.loads(r.output)["classes"] == 5
    with pytest.raises(costmodel.KnobError, match="spec files take no knobs"):
        costmodel.load(p, variant="shallow")


# ----------------------------------------------------------------------------- property-based
ACTS = st.sampled_from([None, "relu", "relu6", "hswish", "swish", "sigmoid", "hsigmoid"])
CH = st.integers(1, 48)


def chain_block():
    return st.one_of(
        st.builds(lambda c, k, s, act, n: blk("conv", n=n, c=c, k=k, s=s, act=act), CH, st.sampled_from([1, 3, 5]),
                  st.sampled_from([1, 2]), ACTS, st.integers(1, 2)),
        st.builds(lambda c, k, s: blk("dwsep", c=c, k=k, s=s), CH, st.sampled_from([3, 5]), st.sampled_from([1, 2])),
        st.builds(lambda c, t, s, k, se, act, n: blk("ir", n=n, c=c, t=t, s=s, k=k, se=se, act=act), CH,
                  st.sampled_from([1, 2, 6]), st.sampled_from([1, 2]), st.sampled_from([3, 5]),
                  st.sampled_from([0.0, 0.25]), st.sampled_from(["relu", "relu6", "hswish"]), st.integers(1, 3)),
        st.builds(lambda c, e, s, k, act: blk("ir", c=c, exp=e, s=s, k=k, act=act), CH, st.integers(4, 64),
                  st.sampled_from([1, 2]), st.sampled_from([3, 5]), st.sampled_from(["relu", "hswish"])),
        st.builds(lambda kind: blk("pool", kind=kind, k=3, s=2, padding=1), st.sampled_from(["max", "avg"])),
        st.builds(lambda s1, e1, e3: blk("fire", s1x1=s1, e1x1=e1, e3x3=e3), st.integers(1, 16), CH, CH),
        st.builds(lambda c: blk("shufflenet_v2_unit", c=2 * c, s=2), st.integers(1, 24)),
        st.builds(lambda c, t, k, s, se: blk("mixir", c=c, t=t, k=k, s=s, se=se), CH, st.sampled_from([3, 6]),
                  st.sampled_from([(3,), (3, 5), (3, 5, 7)]), st.sampled_from([1, 2]), st.sampled_from([None, 0.5])),
        st.just(blk("dropout", p=0.1)),
    )


@st.composite
def random_specs(draw, dag=True):
    blocks = []
    for i in range(draw(st.integers(1, 6))):
        blocks.append(draw(chain_block()))
        if dag and draw(st.booleans()):  # a diamond: two 1x1 branches joined by add or concat
            c = draw(CH)
            blocks[-1] = blocks[-1].__class__(blocks[-1].type, blocks[-1].args, blocks[-1].repeat, f"a{i}", None)
            blocks.append(blk("conv", name=f"p{i}", inputs=[f"a{i}"], c=c, k=1))
            blocks.append(blk("conv", name=f"q{i}", inputs=[f"a{i}"], c=c, k=1, act=None))
            blocks.append(blk(draw(st.sampled_from(["add", "concat"])), inputs=[f"p{i}", f"q{i}"]))
    if draw(st.booleans()):
        blocks += [blk("gap"), blk("fc", c=draw(st.none() | st.integers(1, 50)))]
    width = draw(st.sampled_from(["divisible8", "floor_min8", "unscaled", "round_min1"]))
    return NetSpec("rand", tuple(blocks), width=width, in_channels=draw(st.integers(1, 4)),
                   default_res=draw(st.sampled_from([16, 24, 32]))), draw(st.sampled_from([0.25, 0.5, 1.0, 1.4]))


SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(random_specs())
def test_random_valid_specs_build_and_are_additive(case):
    spec, alpha = case
    text = dump_spec(spec_to_data(spec, alpha, None, 10), "yaml")
    sf = spec_from_data(parse_text(text, "r.yaml"), "r.yaml")   # through the file format
    g = sf.build()
    assert signature(g) == signature(expand(spec, alpha, spec.default_res, 10))
    rep = analyze(g)
    for key in ("params", "params_with_bn", "madds", "flops"):
        assert sum(r[key] for r in rep.rows) == rep.totals[key]
    # a chain's totals are the sum of its blocks built one by one on the previous block's output
    if not any(b.name for b in spec.blocks):
        shape = (spec.in_channels, spec.default_res, spec.default_res)
        total = {k: 0 for k in ("params", "madds", "flops")}
        for b in spec.blocks:  # every map stays square: input (C, H, H)
            part = expand(NetSpec("one", (b,), spec.width, shape[0], shape[1]), alpha, None, 10)
            for k in total:
                total[k] += analyze(part).totals[k]
            shape = part.output_shape
        assert total == {k: rep.totals[k] for k in total}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_specs())
def test_random_specs_shapes_match_the_executor(case):
    executor = pytest.importorskip("costmodel.executor")
    spec, alpha = case
    g = expand(spec, alpha, 16, 10)
    ex = executor.run(g, raise_on_mismatch=False)
    assert len(ex.checks) == len(g) and all(c.shapes_equal for c in ex.checks) and not ex.stopped_at


@settings(max_examples=60, deadline=None)
@given(chain_block())
def test_block_string_round_trip(b):
    text = format_block(b)
    if text is not None:
        assert parse_block(text) == b
