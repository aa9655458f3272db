"""MobileNetV2 (arXiv 1801.04381v4) section 6: Tables 5 (SSD vs SSDLite prediction layers),
6 (COCO detectors at 320x320) and 7 (Mobile DeepLabv3 at 513x513), from data/mobilenet_v2_heads.csv.

Columns: ``network`` and ``knobs`` say what to build (empty network: published only);
``part`` is ``head`` (only the nodes of the head block: Table 5's "prediction layers") or
``all``; ``mf`` = yes sums the Mult-Adds of DeepLab's multi-scale + flip evaluation: the whole
network at every input size of ``heads.multi_scale_resolutions`` (scales 0.5..1.75 of 513),
twice each (flipped). ``params_counted`` names the parameter convention (``PARAMS_COUNTED``).
Table 7 figures are also shown counted on TensorFlow's space-to-batch grid for dilated convs
(``heads.space_to_batch_madds``), the reading DeepLab's published Mult-Adds follow.
"""
from __future__ import annotations

from typing import Dict, List

from ..analysis import COUNT_KEYS, layer_rows
from ..datafiles import read_csv
from ..registry import build
from ..zoo.heads import multi_scale_resolutions, space_to_batch_madds
from . import PARAMS_COUNTED, Comparison, comparison_for, parse_knobs

PAPER = "mobilenet_v2"
CSV = "mobilenet_v2_heads.csv"
TITLES = {
    "5": "MobileNetV2 Table 5: SSD vs SSDLite prediction layers (MobileNetV2, 320x320, 80 classes)",
    "6": "MobileNetV2 Table 6: COCO object detection, whole detector at 320x320",
    "7": "MobileNetV2 Table 7: Mobile DeepLabv3, PASCAL VOC 2012 val at 513x513",
}
S2B = "Mult-Adds with dilated convs on TensorFlow's space-to-batch grid"


def totals(graph, prefix: str = "") -> Dict[str, int]:
    """Exact counts of the nodes in block scope ``prefix`` and below (all nodes for ""); only the
    per-layer counts, without the memory schedule that ``analyze`` adds."""
    rows = [r for r in layer_rows(graph)
            if not prefix or r["block"] == prefix or r["block"].startswith(prefix + ".")]
    out = {k: sum(r[k] for r in rows) for k in COUNT_KEYS}
    out["bn_channels"] = sum(r["input_shape"][0] for r in rows if r["kind"] == "batchnorm")
    return out


def measure(row: dict) -> Dict[str, int]:
    """params (every convention's inputs) and madds, space-to-batch madds of one CSV row."""
    knobs = parse_knobs(row.get("knobs", ""))
    resolutions = multi_scale_resolutions(int(row["res"])) if row.get("mf") == "yes" else (int(row["res"]),)
    passes = 2 if row.get("mf") == "yes" else 1
    out: Dict[str, int] = {}
    madds = s2b = 0
    for res in resolutions:
        g = build(row["network"], res=res, **knobs)
        t = totals(g, "head" if row.get("part") == "head" else "")
        if res == int(row["res"]):
            out.update(t)
        madds += passes * t["madds"]
        s2b += passes * space_to_batch_madds(g)
    out["madds"] = madds
    out["madds_tf"] = s2b
    return out


def tables() -> List[Comparison]:
    comps: Dict[str, Comparison] = {}
    for r in read_csv(CSV):
        key = r["table"]
        c = comparison_for(comps, key, PAPER, TITLES.get(key, f"Table {key}"), r["source"])
        label = r["model"]
        if not r["network"]:
            for q, unit, col in (("params", "M", "params_M"), ("madds", "B", "madds_B")):
                if r.get(col):
                    c.add(label, q, r[col], unit, None, "published only (not a registry network)")
            continue
        t = measure(r)
        where = f"{r['network']} {r['knobs']}, {r['res']}x{r['res']}"
        what = "prediction layers only" if r.get("part") == "head" else "whole network"
        desc, fn = PARAMS_COUNTED[r.get("params_counted") or "params"]
        sizes = multi_scale_resolutions(int(r["res"]))
        mf = f"; sum over {len(sizes)} scales {', '.join(map(str, sizes))} x 2 (flip)" if r.get("mf") == "yes" else ""
        c.add(label, "params", r["params_M"], "M", fn(t), f"{where}; {what}; {desc}", r.get("params_explanation", ""))
        c.add(label, "madds", r["madds_B"], "B", t["madds"], f"{where}; {what}{mf}", r.get("madds_explanation", ""))
        if r["table"] == "7":
            c.add(label, "madds (TF grid)", r["madds_B"], "B", t["madds_tf"], f"{S2B}{mf}",
                  r.get("madds_tf_explanation", ""))
    alt = {h: totals(build("mobilenet_v2", head=h, head_classes=91), "head") for h in ("ssd", "ssdlite")}
    notes = {
        "5": "Class slots: 81 = 80 COCO classes + background (the paper's '80 classes'); the TF OD API COCO "
             "configs' num_classes 90 gives 91 slots (--set head_classes=91): "
             + ", ".join(f"{'SSD' if h == 'ssd' else 'SSDLite'} {t['params'] / 1e6:.2f} M / {t['madds'] / 1e9:.3f} B"
                         for h, t in alt.items()) + ".",
        "7": "MF rows: DeepLab's multi-scale + flip evaluation runs the network at 257, 385, 513, 641, 769 and "
             "897 px (scale_dimension(513, s)), each twice; the Mult-Adds are summed over those 12 passes.",
    }
    for key, text in notes.items():
        if key in comps:
            comps[key].notes.append(text)
    return list(comps.values())
