"""Checks shared by the tests of data/efficientnet.csv, data/mnasnet.csv and data/ghostnet.csv (the
figures format: one row per published figure; see docs/architecture.md).

Every row whose ``counted_as`` names a count (params, params_with_bn, madds) and whose ``network``
is a registry network is rebuilt with its ``knobs`` and counted here; the ``computed`` column must be
that exact integer, and a figure that the computed value does not reproduce within its printed
precision (or the source's ``rounding`` habit) must carry an ``explanation``. Rows without a count
(accuracies, latencies) or without a network (published-only models) must leave ``computed`` empty.
"""
import csv
import os
from decimal import Decimal
from functools import lru_cache

from costmodel.analysis import count_totals
from costmodel.registry import build

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
COLUMNS = ["source", "table", "model", "network", "knobs", "quantity", "counted_as", "published", "unit", "rounding",
           "computed", "explanation"]
COUNTS = ("params", "params_with_bn", "madds")
UNITS = {"": 1, "K": 10 ** 3, "M": 10 ** 6, "B": 10 ** 9, "G": 10 ** 9}
#: knobs that describe the measurement, not the network (latency rows)
MEASUREMENT_KNOBS = ("device", "precision", "threads", "batch")


def rows(paper: str):
    with open(os.path.join(DATA, f"{paper}.csv"), newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == COLUMNS, f"data/{paper}.csv columns {reader.fieldnames}"
        return list(reader)


def parse_knobs(text: str) -> dict:
    out = {}
    for part in filter(None, text.split(";")):
        name, _, value = part.partition("=")
        assert name and value and name not in out, f"bad knobs {text!r}"
        if name in ("alpha", "depth"):
            out[name] = float(value)
        elif name in ("res", "classes"):
            out[name] = int(value)
        else:
            out[name] = value
    return out


@lru_cache(maxsize=None)
def _totals(network: str, knobs: str):
    kw = {k: v for k, v in parse_knobs(knobs).items() if k not in MEASUREMENT_KNOBS}
    return count_totals(build(network, **kw))


def computed(row: dict) -> int:
    return _totals(row["network"], row["knobs"])[row["counted_as"]]


def reproduces(row: dict, value: int) -> bool:
    """Is ``value`` the printed figure, at its printed precision and the source's rounding habit?"""
    pub = Decimal(row["published"])
    got = Decimal(value) / UNITS[row["unit"]]
    if row["rounding"].startswith("sig"):
        step = Decimal(10) ** (got.adjusted() - int(row["rounding"][3:]) + 1)
        return (got / step).quantize(Decimal(1), rounding="ROUND_HALF_UP") * step == pub
    half = Decimal(5) * Decimal(10) ** (pub.as_tuple().exponent - 1)
    return abs(got - pub) <= half


def counted_rows(paper: str):
    return [r for r in rows(paper) if r["counted_as"] and r["network"]]


def row_id(r: dict) -> str:
    return f"{r['table']}:{r['model']}:{r['knobs']}:{r['quantity']}"


def check_row(row: dict) -> None:
    assert row["counted_as"] in COUNTS, row["counted_as"]
    value = computed(row)
    assert row["computed"] == str(value), f"{row_id(row)}: data says {row['computed']}, the model gives {value}"
    if not reproduces(row, value):
        assert row["explanation"], f"{row_id(row)}: {value} does not print {row['published']} and has no explanation"


def check_file(paper: str) -> None:
    """The file's shape: published figures as printed, nothing computed where nothing is counted,
    explanations only where a count differs."""
    from costmodel.registry import networks
    nets = networks()
    for r in rows(paper):
        assert r["source"] and r["model"] and r["quantity"] and r["published"], r
        Decimal(r["published"])  # a number, as printed
        assert r["unit"] in (*UNITS, "%", "ms"), r["unit"]
        if r["network"]:
            assert r["network"] in nets, r["network"]
        if not r["counted_as"]:  # published only (accuracy, latency): nothing to explain
            assert r["explanation"] == "", row_id(r)
        if not (r["counted_as"] and r["network"]):
            assert r["computed"] == "", row_id(r)
        elif reproduces(r, int(r["computed"])):
            assert r["explanation"] == "", f"{row_id(r)} reproduces its figure but carries an explanation"
