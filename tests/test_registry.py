"""Registry-driven checks: every registered network, for free."""
import json

import pytest

import costmodel as cm
from costmodel.errors import KnobError

NAMES = list(cm.networks())


@pytest.mark.parametrize("name", NAMES)
def test_builds_at_default_other_and_min_resolution(name):
    net = cm.get_network(name)
    for res in (None, net.default_res + 32, net.min_res):
        g = cm.build(name, res=res)
        r = cm.analyze(g)
        assert r.resolution == (res or net.default_res)
        assert g.input_shape[1:] == (r.resolution, r.resolution)
        # additivity: per-layer rows add up to the totals
        for k in ("params", "params_with_bn", "madds", "flops"):
            assert sum(x[k] for x in r.rows) == r.totals[k]
        assert r.totals["params"] <= r.totals["params_with_bn"]
        assert r.totals["flops"] >= 2 * r.totals["madds"]
    with pytest.raises(KnobError, match="too small"):
        cm.build(name, res=net.min_res - 1)


@pytest.mark.parametrize("name", NAMES)
def test_params_do_not_depend_on_resolution(name):
    net = cm.get_network(name)
    a = cm.analyze(cm.build(name)).totals
    b = cm.analyze(cm.build(name, res=net.default_res + 32)).totals
    assert a["params"] == b["params"] and b["madds"] > a["madds"]


@pytest.mark.parametrize("name", NAMES)
def test_table_json_for_every_network(cli, name):
    r = cli("table", name, "--format", "json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert d["network"] == name
    assert set(d["totals"]) >= {"params", "params_with_bn", "madds", "flops"}
    assert all(isinstance(v, int) for k, v in d["totals"].items() if k in ("params", "madds", "flops"))
    assert all({"name", "op", "input_shape", "output_shape", "params", "madds", "flops"} <= set(x) for x in d["layers"])


@pytest.mark.parametrize("name", [n for n in NAMES if cm.get_network(n).alphas is not None])
def test_undefined_alpha_is_a_clear_error(cli, name):
    r = cli("table", name, "--alpha", "0.8")
    assert r.code == 2 and "accepted:" in r.err and r.err.count("\n") == 1


def test_unknown_network_suggests():
    with pytest.raises(KnobError, match="did you mean mobilenet_v2"):
        cm.build("mobilenet_v22")


def test_representative_networks_cover_the_registry():
    """The default run's subset of the registry-wide checks (tests/subsets.py) shows every feature
    any registry network shows (family, block type, op kind, kind of conv and pool...), and leaves
    out at least a third of the registry to the slow set."""
    from subsets import features, registry_params, representative
    rep = representative()
    everything = set().union(*(features(n) for n in cm.networks()))
    assert set().union(*(features(n) for n in rep)) == everything
    assert len(rep) == len(set(rep)) and len(rep) <= 2 * len(cm.networks()) // 3
    slow = [p.values[0] for p in registry_params() if p.marks]
    assert sorted(slow + list(rep)) == sorted(cm.networks())
