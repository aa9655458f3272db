"""Reference networks in the efficient-CNN papers' comparisons: MobileNetV1 Tables 8 and 9
(GoogLeNet, VGG 16, SqueezeNet, AlexNet), ShuffleNet V1 Table 6 (VGG-16, GoogLeNet, AlexNet,
SqueezeNet), ShuffleNet V2 Table 6 (ResNet-50, v1 and v1.5 side by side) and torchvision's pinned
counts. Figures and explanations: data/reference_networks.csv.

``figure_tables`` is the row reader shared with the SqueezeNet and Xception reports. One CSV row
is one published figure (columns source, table, model, network, knobs, resolution, layer,
output, quantity, published, unit, counted, rounding, note, explanation):

- ``network`` is a registry name, or ``a/b`` for the ratio of the counted quantity of a over b;
- ``layer`` restricts the count to one block of the spec (paper tables printed per layer), and
  ``output`` is the printed output size (H x W x C), compared exactly and shown beside the figure;
- ``counted`` names how the source counts (see ``COUNTED``); ``rounding`` is ``nearest`` or
  ``floor`` (a source that truncates).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Dict, List, Optional, Tuple

from . import Comparison, comparison_for, parse_knobs

PAPER = "reference"

#: how a source counts, as a function of ``analyze``'s totals (or one layer's sums)
COUNTED = {
    "params": ("weights + biases", lambda t: t["params"]),
    "params_with_bn": ("weights + biases + BN scale and shift", lambda t: t["params_with_bn"]),
    "keras_total": ("params_with_bn + BN moving mean and variance", lambda t: t["params_with_bn"]
                    + 2 * t["bn_channels"]),
    "bn_moving": ("BN moving mean and variance", lambda t: 2 * t["bn_channels"]),
    "madds": ("multiply-adds", lambda t: t["madds"]),
    "flops": ("FLOPs", lambda t: t["flops"]),
    "size_MiB": ("32-bit weights in MiB", lambda t: t["params"] * 4 / 2 ** 20),
}

TITLES = {
    ("8", "arXiv 1704.04861"): "MobileNetV1 Table 8: reference networks (ImageNet, 224)",
    ("9", "arXiv 1704.04861"): "MobileNetV1 Table 9: reference networks",
    ("6", "arXiv 1707.01083v2"): "ShuffleNet V1 Table 6: reference networks (MFLOPs = Mult-Adds)",
    ("6", "arXiv 1807.11164"): "ShuffleNet V2 Table 6: ResNet-50 (GFLOPs = Mult-Adds), v1 and v1.5",
    ("torchvision", "torchvision"): "torchvision weights metadata: num_params and _ops (G Mult-Adds at 224)",
}


@lru_cache(maxsize=64)
def _report(network: str, knobs: Tuple[Tuple[str, str], ...], res: Optional[int]):
    from ..analysis import analyze
    from ..registry import build
    return analyze(build(network, res=res, **dict(knobs)))


def report(network: str, knobs: str = "", res: Optional[int] = None):
    """``analyze`` of a registry network, cached (reports reuse the same builds)."""
    return _report(network, tuple(sorted(parse_knobs(knobs).items())), res)


def layer_totals(rep, layer: str) -> dict:
    """Sums over the nodes of one spec block (``layer``: the block name, e.g. ``fire2``)."""
    rows = [r for r in rep.rows if r["block"] == layer or r["block"].startswith(layer + ".")]
    if not rows:
        raise KeyError(f"{rep.network} has no layer {layer!r}")
    t = {k: sum(r[k] for r in rows) for k in ("params", "params_with_bn", "madds", "flops")}
    t["bn_channels"] = sum(r["input_shape"][0] for r in rows if r["kind"] == "batchnorm")
    t["output_shape"] = rows[-1]["output_shape"]
    return t


def hwc(shape) -> str:
    c, h, w = shape
    return f"{h}x{w}x{c}"


def computed_value(row: dict):
    """The computed figure for one data row (None when the model is not a registry network)."""
    if not row["network"] or not row["counted"]:
        return None, None
    fn = COUNTED[row["counted"]][1]
    res = int(row["resolution"]) if row["resolution"] else None
    values = []
    out = None
    for net in row["network"].split("/"):
        rep = report(net, row.get("knobs", ""), res)
        t = layer_totals(rep, row["layer"]) if row.get("layer") else rep.totals
        out = t.get("output_shape")
        values.append(fn(t))
    if len(values) == 2:
        return values[0] / values[1], out
    return values[0], out


def figure_tables(paper: str, csv_name: str, titles: Dict[tuple, str]) -> List[Comparison]:
    """One Comparison per (table, source) of a data/ CSV in the format of the module docstring."""
    from ..datafiles import read_csv
    comps: Dict[tuple, Comparison] = {}
    sources: Dict[tuple, List[str]] = {}
    for r in read_csv(csv_name):
        key = (r["table"], r["source"] if r["source"].startswith("arXiv") else r["table"])
        c = comparison_for(comps, key, paper, titles.get(key, f"{r['source']} Table {r['table']}"), r["source"])
        value, out = computed_value(r)
        if value is None:
            conv = [r["note"] or "published only (not a registry network)"]
        else:
            conv = [r["note"] or COUNTED[r["counted"]][0],
                    f"at {r['resolution'] or 'the default resolution'}" + (f", {r['knobs']}" if r["knobs"] else "")]
        if r.get("output") and out is not None:
            got = hwc(out)
            conv.append(f"output {got}" + ("" if got == r["output"] else f" (printed {r['output']})"))
        if r["rounding"] == "floor":
            conv.append("the source truncates")
        label = r["model"] + (f" {r['layer']}" if r.get("layer") else "")
        c.add(label, r["quantity"], r["published"], r["unit"], value, "; ".join(conv),
              r["explanation"], r["rounding"] or "nearest")
        sources.setdefault(key, [])
        if r["source"] not in sources[key]:
            sources[key].append(r["source"])
    for key, c in comps.items():
        c.source = "; ".join(sources[key])
    return list(comps.values())


def tables() -> List[Comparison]:
    comps = figure_tables(PAPER, "reference_networks.csv", TITLES)
    v1, v15 = report("resnet50", "variant=v1", 224), report("resnet50", "variant=v1.5", 224)
    for c in comps:
        if c.source == "arXiv 1807.11164":
            c.notes.append(f"ResNet-50 at 224: v1 {v1.totals['madds']:,} Mult-Adds, v1.5 {v15.totals['madds']:,} "
                           f"(+{v15.totals['madds'] / v1.totals['madds'] - 1:.1%}); parameters "
                           f"{v1.totals['params_with_bn']:,} in both (with BN scale and shift)")
    return comps
