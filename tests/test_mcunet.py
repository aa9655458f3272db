"""MCUNet / MCUNetV2 / TinyEngine figures (data/mcunet.csv): every computed value is the exact pinned
one, every figure that does not match within its printed precision carries an explanation, every
figure that is not computed says why; the model-zoo networks built from the mcunet configs have the
published Mult-Adds and parameters."""
from decimal import Decimal

import pytest

import costmodel
from costmodel import mcunet
from costmodel.datafiles import read_csv

UNITS = {"KiB": 1024, "M": 10 ** 6, "x": 1}
ROWS = read_csv(mcunet.FIGURES_FILE)


def test_units_and_rules():
    """Memory sizes in the sources' 1024-byte "kB" (KiB); every rule is registered for the report
    (tests/test_reproduce_format.py recomputes every row against its pinned value)."""
    from costmodel.reproduce import run
    from costmodel.reproduce.rules import RULES
    assert all(r["unit"] in UNITS and r["rounding"] == "nearest" and r["source"] for r in ROWS)
    assert sum(len(c.figures) for c in run("mcunet")) == sum(1 for r in ROWS if r["counted_as"])
    assert {r["counted_as"] for r in ROWS} - {""} <= set(RULES)  # registered by the paper module


def _matches(row) -> bool:
    """Within half a unit of the last printed digit (the reproduction reports' rule)."""
    pub = Decimal(row["published"])
    half = Decimal(5) * Decimal(10) ** (pub.as_tuple().exponent - 1)
    return abs(Decimal(row["computed"]) / UNITS[row["unit"]] - pub) <= half


def test_pinned_conventions():
    """The figures the conventions pin exactly (docs/memory.md, "MCUNet figures")."""
    ok = [r for r in ROWS if r["counted_as"] and r["computed"] and r["published"] and _matches(r)]
    # MobileNetV2 1372 / 172 kB / 8x / 539 kB, ResNet-50 7.2 MB, the zoo's Mult-Adds and parameters, the
    # initial release's analytic Act at int8 and int4, TinyEngine's F746 peak SRAM
    assert len(ok) == 4 + 1 + 12 + 3 + 9 + 5 == 34
    assert {r["counted_as"] for r in ok} == {"tinyengine_inplace_dw", "per_patch_peak", "per_layer_over_per_patch",
                                             "first_conv_io", "inplace_add_peak", "madds", "params_with_bn",
                                             "mcunet_analytic"}


def test_zoo_networks_from_the_configs():
    g = mcunet.build("mcunet-in2")
    assert g.name == "mcunet-in2" and g.input_shape == (3, 160, 160)
    t = costmodel.analyze(g).totals
    assert t["madds"] == 67_287_200 and t["params_with_bn"] == 729_392
    assert mcunet.mcunet_analytic(g, {"bits": "8"}) == 332_800 == 325 * 1024
    assert mcunet.tinyengine_inplace_dw(g, {"bits": "8"}) == 204_800 == 200 * 1024
    assert mcunet.build("mcunet-in2", res=96).input_shape == (3, 96, 96)
    with pytest.raises(Exception, match="unknown mcunet network 'mcunet-vww0'"):
        mcunet.build("mcunet-vww0")

