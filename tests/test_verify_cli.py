"""``costmodel verify``: every node's executed shape and counted Mult-Adds against the analytical
ones, from the command line (one network, the representative subset, the whole registry in the
slow set), exit 1 on a mismatch and 2 on bad input."""
import dataclasses
import re

import pytest
from click.testing import CliRunner

import costmodel
from costmodel.cli import cli
from costmodel.ops import Conv2d
from subsets import representative


@pytest.mark.parametrize("name", representative())
def test_verify_representative_networks(name):
    """The suite's subset of ``verify --all`` (the whole registry is the slow set's): the networks
    that together show every family, block type, op kind and kind of convolution and pooling
    (tests/subsets.py), at resolution 64 (or its minimum), all nodes equal."""
    res = max(64, costmodel.networks()[name].min_res)
    r = CliRunner().invoke(cli, ["verify", name, "--res", str(res)])
    assert r.exit_code == 0, r.output
    assert re.fullmatch(r"summary: (\d+) nodes checked, \1 shapes equal, (\d+)/\2 counted Mult-Adds equal .*",
                        r.output.splitlines()[-1]), r.output.splitlines()[-1]


@pytest.mark.slow
def test_verify_all_registry_networks():
    """Every registry network at its default knobs, at resolution 64 (or its minimum)."""
    r = CliRunner().invoke(cli, ["verify", "--all"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    nets = costmodel.networks()
    for name, net in nets.items():
        assert any(line.startswith(f"ok  {name} res {max(64, net.min_res)}: ") for line in lines), name
    assert not any(line.startswith(("FAIL", "skip")) for line in lines)
    assert lines[-1] == f"summary: {len(nets)} networks, {len(nets)} configurations verified: all match"


@pytest.mark.slow
def test_verify_all_registry_networks_and_knob_choices():
    r = CliRunner().invoke(cli, ["verify", "--all", "--knobs"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    nets = costmodel.networks()
    for name, net in nets.items():
        assert any(line.startswith(f"ok  {name} res ") for line in lines), name
        for k in net.knobs:  # every other knob choice is verified, or rejected by the network itself
            for choice in k.choices or ():
                if choice != k.default:
                    what = f"{name} {k.name}={choice}"
                    assert any(line.startswith((f"ok  {what} res ", f"skip {what}: ")) for line in lines), what
    assert not any(line.startswith("FAIL") for line in lines)
    assert re.fullmatch(rf"summary: {len(nets)} networks, \d+ configurations verified(, \d+ rejected "
                        rf"combinations skipped)?: all match", lines[-1])


def test_verify_one_network_lines():
    r = CliRunner().invoke(cli, ["verify", "mobilenet_v1", "--alpha", "0.25", "--res", "64", "--batch", "2"])
    assert r.exit_code == 0, r.output
    assert "dwconv3x3/2" in r.output and "conv1x1" in r.output
    # 13 pointwise convs, shapes and Mult-Adds all equal; 85 nodes; total = the analytical madds
    assert re.search(r"^  conv1x1 +13  shapes equal 13/13  Mult-Adds equal 13/13$", r.output, re.MULTILINE)
    madds = costmodel.analyze(costmodel.build("mobilenet_v1", alpha=0.25, res=64)).totals["madds"]
    assert r.output.splitlines()[-1] == (f"summary: 85 nodes checked, 85 shapes equal, 28/28 counted Mult-Adds equal "
                                         f"({madds:,} analytical Mult-Adds per sample)")


def test_verify_exit_1_on_injected_mismatch(monkeypatch):
    real = Conv2d.madds
    monkeypatch.setattr(Conv2d, "madds", lambda self, ins, outs: real(self, ins, outs) + (self.groups > 1))
    r = CliRunner().invoke(cli, ["verify", "mobilenet_v1", "--alpha", "0.25", "--res", "32"])
    assert r.exit_code == 1
    out = r.output
    assert "MISMATCH node 'dwsep1.dw' (conv2d: out_channels=8, kernel=(3, 3)" in out
    assert "counted 18432 Mult-Adds per sample != analytical 18433" in out  # 8 x 16 x 16 x 9
    assert re.search(r"^  dwconv3x3 +9  shapes equal 9/9  Mult-Adds equal 0/9$", out, re.MULTILINE)
    assert re.search(r"^  dwconv3x3/2 +4  shapes equal 4/4  Mult-Adds equal 0/4$", out, re.MULTILINE)
    assert out.count("MISMATCH") == 13 and "85 shapes equal, 15/28 counted Mult-Adds equal" in out


def test_verify_exit_1_on_shape_mismatch(monkeypatch):
    g = costmodel.build("mobilenet_v2", alpha=0.35, res=32)
    i = next(i for i, n in enumerate(g.nodes) if n.op.kind == "add")
    nodes = list(g.nodes)
    nodes[i] = dataclasses.replace(nodes[i], out_shapes=((1, 1, 1),))
    bad = dataclasses.replace(g, nodes=tuple(nodes))
    monkeypatch.setattr("costmodel.commands.common.NetworkArgs.load", lambda self: bad)
    r = CliRunner().invoke(cli, ["verify", "mobilenet_v2"])
    assert r.exit_code == 1
    assert f"stopped at {nodes[i].name!r}" in r.output and "!= analytical (1, 1, 1)" in r.output


@pytest.mark.parametrize("args,msg", [
    (["verify"], "give a network name"),
    (["verify", "mobilenet_v2", "--all"], "--all verifies every network"),
    (["verify", "nosuchnet"], "unknown network"),
    (["verify", "mobilenet_v2", "--batch", "0"], "--batch"),
])
def test_verify_bad_input_one_line_exit_2(args, msg, capsys):
    from costmodel.cli import main
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert msg in err and len(err.strip().splitlines()) == 1


