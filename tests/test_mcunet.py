"""MCUNet / MCUNetV2 / TinyEngine figures (data/mcunet.csv): every computed value is the exact pinned
one, every figure that does not match within its printed precision carries an explanation, every
figure that is not computed says why; the model-zoo networks built from the mcunet configs have the
published Mult-Adds and parameters."""
from decimal import Decimal

import pytest

from costmodel import mcunet
from costmodel.datafiles import read_csv

COLUMNS = ["source", "table", "model", "network", "knobs", "quantity", "counted_as", "published", "unit", "rounding",
           "computed", "explanation"]
UNITS = {"KB": 1024, "M": 10 ** 6, "x": 1}
ROWS = read_csv(mcunet.FIGURES_FILE)


def test_schema_is_the_long_one():
    import csv
    from costmodel.datafiles import data_path
    with open(data_path(mcunet.FIGURES_FILE), newline="", encoding="utf-8") as f:
        assert next(csv.reader(f)) == COLUMNS
    assert {r["counted_as"] for r in ROWS} - {""} <= set(mcunet.COUNTING_RULES)
    assert all(r["unit"] in UNITS and r["rounding"] == "nearest" and r["source"] for r in ROWS)


def _matches(row) -> bool:
    """Within half a unit of the last printed digit (the reproduction reports' rule)."""
    pub = Decimal(row["published"])
    half = Decimal(5) * Decimal(10) ** (pub.as_tuple().exponent - 1)
    return abs(Decimal(row["computed"]) / UNITS[row["unit"]] - pub) <= half


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['model']}:{r['quantity']}:{r['source'][:20]}" for r in ROWS])
def test_each_figure(row):
    if not row["counted_as"]:
        assert not row["computed"] and len(row["explanation"]) > 40   # not built: the reason is given
        return
    value = mcunet.compute(row)
    assert (repr(value) if isinstance(value, float) else str(value)) == row["computed"]
    if row["published"] and not _matches(row):
        assert row["explanation"], "a figure that differs needs an explanation"


def test_pinned_conventions():
    """The figures the conventions pin exactly (docs/memory.md, "MCUNet figures")."""
    ok = [r for r in ROWS if r["counted_as"] and r["published"] and _matches(r)]
    # MobileNetV2 1372 / 172 kB / 8x / 539 kB, ResNet-50 7.2 MB, the zoo's Mult-Adds and parameters, the
    # initial release's analytic Act at int8 and int4, TinyEngine's F746 peak SRAM
    assert len(ok) == 4 + 1 + 12 + 3 + 9 + 5 == 34
    assert {r["counted_as"] for r in ok} == {"tinyengine_inplace_dw", "per_patch_peak", "per_layer_over_per_patch",
                                             "first_conv_io", "inplace_add_peak", "madds", "params_with_bn",
                                             "mcunet_analytic"}


def test_zoo_networks_from_the_configs():
    g = mcunet.build("mcunet-in2")
    assert g.name == "mcunet-in2" and g.input_shape == (3, 160, 160)
    assert mcunet.madds(g, {}) == 67_287_200 and mcunet.params_with_bn(g, {}) == 729_392
    assert mcunet.mcunet_analytic(g, {"bits": "8"}) == 332_800 == 325 * 1024
    assert mcunet.tinyengine_inplace_dw(g, {"bits": "8"}) == 204_800 == 200 * 1024
    assert mcunet.build("mcunet-in2", res=96).input_shape == (3, 96, 96)
    with pytest.raises(Exception, match="unknown mcunet network 'mcunet-vww0'"):
        mcunet.build("mcunet-vww0")
    assert mcunet.parse_knobs("alpha=0.35;res=144;bits=8") == {"alpha": "0.35", "res": "144", "bits": "8"}
