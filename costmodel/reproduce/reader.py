"""The one reader: ``data/<paper>.csv`` (figures format, see ``costmodel.datafiles``) -> the
paper's reproduced tables.

Every row with a ``counted_as`` is a figure of the report: its ``network`` is built with its
``knobs`` (``a/b``: the ratio of the counts of networks a and b) and counted by the rule
``counted_as`` names (``costmodel.reproduce.rules``). A row without ``network`` is shown with its
published value only. Rows without ``counted_as`` (accuracies, latencies, mAP) are data for other
lookups (``costmodel.accuracy``) and are not part of the report.

Rows form one table per title, in file order. A paper module ``costmodel/reproduce/<paper>.py``
is optional and holds only what is special: ``TITLES`` (table key -> title; the key is the
``table`` value, or ``(source, table)`` where two sources of one file print a table of the same
name), rules or builders it registers on import, and ``notes(tables)``, which adds notes to the
tables (a dict keyed like ``TITLES``). Without a title the table is called "SOURCE Table T".
"""
from __future__ import annotations

import importlib
import importlib.util
from typing import Dict, List, Optional, Tuple

from ..datafiles import figures, parse_knobs
from ..errors import KnobError
from .compare import Comparison, Figure, rounding_text
from .rules import Target, freeze, get_rule

#: knobs every report label already shows (alpha, resolution, classes); the others are listed
#: after the counting rule in the default convention text
LABELLED = ("alpha", "res", "classes")
PUBLISHED_ONLY = "published only (not a registry network)"


def paper_module(paper: str):
    """The paper's module under costmodel.reproduce, or None (a CSV alone is a complete paper)."""
    name = f"costmodel.reproduce.{paper}"
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


def evaluate(row: dict) -> Tuple[Optional[object], str]:
    """(computed value, reason it is None) for one figures row; (None, '') for rows without a
    ``counted_as`` (not compared). The value is an exact int, or a float for shares and ratios."""
    if not row["counted_as"]:
        return None, ""
    where = row.get("_where", "")
    rule, arg = get_rule(row["counted_as"], where)
    if not row["network"]:
        return None, PUBLISHED_ONLY
    knobs = freeze(parse_knobs(row["knobs"], where))
    try:
        values = [rule.fn(Target(net, knobs, arg)) for net in row["network"].split("/")]
    except KnobError as e:
        return None, f"not computed: {e}"
    return (values[0] / values[1] if len(values) == 2 else values[0]), ""


def pin_text(value) -> str:
    """How ``computed`` is written in data/: an exact integer, or the float's shortest repr."""
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(int(value))


def convention(row: dict, value, why: str) -> str:
    """The convention text shown beside a figure: the row's ``note``, else the rule's text and the
    knobs the label does not show; plus the source's rounding habit."""
    if value is None:
        return row["note"] or why
    if row["note"]:
        base = row["note"]
    else:
        rule, arg = get_rule(row["counted_as"])
        knobs = parse_knobs(row["knobs"])
        base = "; ".join([rule.describe(arg)] + [f"{k}={v}" for k, v in knobs.items() if k not in LABELLED])
    extra = rounding_text(row["rounding"] or "nearest")
    return base + (f"; {extra}" if extra else "")


def figure(row: dict) -> Figure:
    value, why = evaluate(row)
    return Figure(row["row"] or row["model"], row["quantity"], row["published"], row["unit"], value,
                  convention(row, value, why), row["explanation"], row["rounding"] or "nearest")


def title_key(titles: Dict, row: dict):
    key = (row["source"], row["table"])
    return key if key in titles else row["table"]


def tables(paper: str) -> List[Comparison]:
    """The paper's reproduced tables, from data/<paper>.csv and its optional module."""
    mod = paper_module(paper)
    titles = getattr(mod, "TITLES", {})
    comps: Dict[object, Comparison] = {}
    sources: Dict[object, List[str]] = {}
    for r in figures(paper):
        if not r["counted_as"]:
            continue
        key = title_key(titles, r)
        if key not in comps:
            comps[key] = Comparison(paper, titles.get(key, f"{r['source']} Table {r['table']}"), r["source"])
            sources[key] = []
        if r["source"] not in sources[key]:
            sources[key].append(r["source"])
        comps[key].figures.append(figure(r))
    for key, c in comps.items():
        c.source = "; ".join(sources[key])
    if hasattr(mod, "notes"):
        mod.notes(comps)
    return list(comps.values()) + latency_tables(paper)


def latency_tables(paper: str) -> List[Comparison]:
    """The paper's published latencies (``latency_ms`` rows) beside the latency predicted on the
    device profile of their runtime era (``costmodel.published.TABLES``), one table per source
    table. A prediction is scored by its error, never matched; rows the device was fitted on are
    marked in sample (their leave-one-out score: ``costmodel calibrate --evaluate DEVICE``)."""
    from ..published import DEVICES, TABLES, buildable, parse_knobs as knobs_of
    from ..roofline import predict_latency
    comps: Dict[tuple, Comparison] = {}
    for r in figures(paper):
        if r["quantity"] != "latency_ms":
            continue
        k = knobs_of(r["knobs"])
        dev = TABLES.get((paper, r["table"], k.get("device")), "")
        key = (r["source"], r["table"])
        if key not in comps:
            comps[key] = Comparison(paper, f"{r['source']} Table {r['table']}: latency, published and predicted",
                                    r["source"])
        value, why = None, ""
        if not dev:
            why = f"no device profile of this runtime ({k.get('device', 'device not named')})"
        elif not buildable(r):
            why = "published only (not a registry network)"
        else:
            spec = DEVICES.get(dev, {})
            fitted = (paper == spec.get("paper") and r["table"] in spec.get("tables", ())
                      and k.get("device") == spec.get("phone") and r["source"].startswith(spec.get("source", "")))
            try:
                value = predict_latency(r["network"], {**k, "device": dev})
            except KnobError as e:
                why = f"not predicted: {e}"
            why = why or f"predicted on {dev} ({'fitted on this table: in sample' if fitted else 'out of sample'})"
        f = Figure(r["row"] or r["model"], "latency_ms", r["published"], "ms", value, why, "", "nearest",
                   "prediction")
        comps[key].figures.append(f)
    return list(comps.values())
