"""ShuffleNet V1 (arXiv 1707.01083v2) Tables 1, 2, 5/6 and the megvii release, from
``data/shufflenet_v1.csv``.

Each data row names the registry network, alpha and knobs it corresponds to and the ``count``
that the source's figure is compared with (the conventions found to reproduce each source):
``madds`` (Mult-Adds, the papers' "FLOPs", FC included), ``madds_without_fc`` (Table 1's
complexity row counts the conv layers only), ``params`` / ``params_with_bn`` (the release counts
BN scale and shift, with the official FC without bias) and ``channels_stageN`` / ``channels_conv5``
(output channels of a stage, from the built graph); ``rounding`` is the source's habit (nearest,
or floor where it truncates). Rows without a count are data only: accuracy, speed, and the
reference networks of Table 6 (VGG-16, GoogleNet, AlexNet, SqueezeNet), which belong to the
reference networks' own reproduction. Figures whose network is not registered show as not computed.
"""
from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from typing import Dict, List, Optional, Tuple

from . import Comparison, parse_knobs

#: count -> how the computed value is counted (shown beside each figure)
CONVENTIONS = {
    "madds": "Mult-Adds, FC included",
    "madds_without_fc": "Mult-Adds of the conv layers, FC excluded",
    "params": "conv/FC weights and biases",
    "params_with_bn": "weights + BN scale and shift",
}


@lru_cache(maxsize=None)
def measure(network: str, alpha: Optional[float], knobs: Tuple[Tuple[str, str], ...]) -> Optional[Dict[str, int]]:
    """Every count of one registry network (None when the network is not registered)."""
    from ..analysis import analyze
    from ..registry import build, networks
    if network not in networks():
        return None
    graph = build(network, alpha=alpha, **dict(knobs))
    totals = dict(analyze(graph).totals)
    fc = sum(n.op.madds(n.in_shapes, n.out_shapes) for n in graph.nodes if n.op.kind == "linear")
    totals["madds_without_fc"] = totals["madds"] - fc
    for n in graph.nodes:  # last node of each stage / of conv5: its output channels
        head = n.scope.split(".")[0]
        if head.startswith("stage") or head == "conv5":
            totals[f"channels_{head}"] = n.out_shape[0]
    return totals


def _knobs(row: dict) -> Tuple[Tuple[str, str], ...]:
    return tuple(parse_knobs(row["knobs"]).items())


def computed(row: dict) -> Optional[int]:
    """The computed value a data row's figure is compared with (None: not computable)."""
    if not row["network"]:
        return None
    alpha = float(row["alpha"]) if row["alpha"] else None
    totals = measure(row["network"], alpha, _knobs(row))
    return None if totals is None else totals[row["count"]]


def convention(row: dict) -> str:
    if not row["network"]:
        return "not built"
    if measure(row["network"], float(row["alpha"]) if row["alpha"] else None, _knobs(row)) is None:
        return f"{row['network']} is not in the registry"
    what = CONVENTIONS.get(row["count"]) or f"output channels of {row['count'].split('_')[-1]} (built graph)"
    parts = [what] + [f"{k}={v}" for k, v in _knobs(row)]
    if row.get("rounding") == "floor":
        parts.append("the source truncates")
    return "; ".join(p for p in parts if p)


def comparisons(rows: List[dict], paper: str, titles: Dict[str, str]) -> "OrderedDict[str, Comparison]":
    """One Comparison per table of ``rows`` (rows with a ``count``), in data order."""
    out: "OrderedDict[str, Comparison]" = OrderedDict()
    for r in rows:
        if not r["count"]:
            continue
        c = out.get(r["table"])
        if c is None:
            c = out[r["table"]] = Comparison(paper, titles.get(r["table"], r["table"]), r["source"])
        label = r["model"] if r["quantity"] in ("MFLOPs", "params") else f"{r['model']}: {r['quantity']}"
        c.add(label, r["count"], r["published"], r["unit"], computed(r), convention(r), r["explanation"],
              r.get("rounding") or "nearest")
    return out


def _m(v: int) -> str:
    return f"{v / 1e6:.2f} M"


def tables() -> List[Comparison]:
    from ..datafiles import read_csv
    rows = read_csv("shufflenet_v1.csv")
    out = comparisons(rows, "shufflenet_v1", {
        "Table 1": "ShuffleNet V1 Table 1: stage widths and complexity by groups (1x)",
        "Table 2": "ShuffleNet V1 Table 2: MFLOPs by scale factor",
        "Tables 5/6": "ShuffleNet V1 Tables 5 and 6: MFLOPs of ShuffleNet, MobileNet and others",
        "release": "ShuffleNet V1 official release (megvii-model/ShuffleNet-Series)",
    })
    fc = {r["knobs"]: (r["published"], measure("shufflenet_v1", 1.0, _knobs(r))["madds"])
          for r in rows if r["table"] == "Table 1" and r["count"] == "madds_without_fc"}
    off = sum(round(v / 1e6) != int(p) for p, v in fc.values())
    out["Table 1"].notes.append(
        "with the FC the complexities would be " + ", ".join(f"{_m(v)} ({k})" for k, (_, v) in fc.items())
        + f": {off} of {len(fc)} would differ; the conv layers alone reproduce all of them")
    out["Table 2"].notes.append(
        "Table 2 prints one MFLOPs figure per scale for all group counts; data/ repeats it per g. Widths other than "
        "the official code's (g = 3, 8) follow the documented rule: stages make_divisible(s c, 4 g), stem "
        "make_divisible(24 s, g)")
    bias = measure("shufflenet_v1", 2.0, (("groups", "3"), ("fc_bias", "true")))["params_with_bn"]
    out["release"].notes.append(
        f"params count BN scale and shift and the official FC without bias; with a biased FC the 2.0x g3 model "
        f"would have {bias:,} (prints 5.5, not 5.4)")
    return list(out.values())
