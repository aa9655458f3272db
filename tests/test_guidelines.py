"""ShuffleNet V2 guideline stacks (Tables 1-4): exact FLOPs and MAC by hand, the G1 bound, G2
growth, the rank verdicts against the published speeds, and the command."""
import json
import math

import pytest

from costmodel import guidelines as G

HW = 56 * 56


def test_g1_mac_is_the_papers_formula_and_bound():
    # 20 convs (10 blocks x 2) of hw(c1 + c2) + c1 c2, equality with the bound at c1 = c2
    c = G.cost(G.g1_stack(128, 128))
    assert c.mac == 20 * (HW * 256 + 128 * 128)
    assert c.madds == 20 * HW * 128 * 128
    assert math.isclose(c.lower_bound, c.mac)
    c2 = G.cost(G.g1_stack(36, 432))
    assert c2.mac == 20 * (HW * (36 + 432) + 36 * 432) and c2.mac > c2.lower_bound


def test_g2_mac_grows_with_groups():
    # MAC = hw c1 + B g / c1 + B / hw per layer at (nearly) fixed B = hw c^2 / g
    c = G.cost(G.g2_stack(360, 8))
    assert c.mac == 10 * (2 * HW * 360 + 360 * 360 // 8)
    macs = [G.cost(G.g2_stack(cc, g)).mac for cc, g in ((128, 1), (180, 2), (256, 4), (360, 8))]
    assert macs == sorted(macs) and macs[-1] > 2.7 * macs[0]


def test_g3_equal_flops_and_branches():
    base = G.cost(G.g3_stack("1-fragment", 128))
    for s in ("4-fragment-series", "4-fragment-parallel"):
        c = G.cost(G.g3_stack(s, 128))
        assert c.madds == base.madds  # width 64 = 128 / sqrt(4): exactly equal
    assert G.cost(G.g3_stack("4-fragment-parallel", 128)).branches == 4


def test_g4_unfused_mac_by_hand():
    # per unit: conv1 (32*hw + 8*hw + 256), conv2 (8*hw + 8*hw + 576), conv3 (8*hw + 32*hw + 256)
    convs = (40 * HW + 256) + (16 * HW + 576) + (40 * HW + 256)
    assert G.cost(G.g4_stack(32, False, False), unfused=True).mac == 10 * convs
    relu = 2 * 8 * HW * 2 + 2 * 32 * HW   # two ReLUs on 8 channels, one on 32
    add = 3 * 32 * HW
    both = G.cost(G.g4_stack(32, True, True), unfused=True)
    assert both.mac == 10 * (convs + relu + add) and both.eltwise_mac == 10 * (relu + add)
    assert G.cost(G.g4_stack(32, True, True)).mac == 10 * (convs + add)   # deployment: ReLU fused


def test_kendall_tau_by_hand():
    assert G.kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == 1
    assert G.kendall_tau([1, 2, 3, 4], [40, 30, 20, 10]) == -1
    assert G.kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    assert G.kendall_tau([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / math.sqrt(6))


def test_verdicts_against_published_speeds():
    ev = G.evaluate()
    # G1 and G2: MAC orders every measured column exactly; FLOPs (equal by design) do not
    for t in (1, 2):
        assert all(v["kendall_tau_mac"] == 1 for v in ev[t]["verdicts"])
        assert all(v["kendall_tau_flops"] < 1 for v in ev[t]["verdicts"])
    assert all(v["kendall_tau_mac"] > 0.5 for v in ev[3]["verdicts"] + ev[4]["verdicts"])
    assert len(ev[1]["rows"]) == 24 and {r["speed"] for r in ev[1]["rows"]} >= {"1480", "57.6"}


def test_roofline_equal_flops_unequal_time():
    demo = [r for r in G.roofline_demo(("gtx1080ti",)) if r["table"] == 2]
    flops = [r["flops"] for r in demo]
    times = [r["time_us"] for r in demo]
    assert max(flops) / min(flops) < 1.06 and times[-1] > 2 * times[0]
    assert [r["bound"] for r in demo][-1] == "memory"


def test_guidelines_command(cli):
    r = cli("guidelines", "--table", "2", "-f", "json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert list(d["tables"]) == ["2"] and d["roofline"]
    r = cli("guidelines")
    assert "G4" in r.out and "Kendall tau" in r.out and "equal FLOPs, unequal time" in r.out
    bad = cli("guidelines", "--table", "5")
    assert bad.code == 2 and len(bad.err.strip().splitlines()) == 1
