"""MobileNetV2 (arXiv 1801.04381v4) Table 3: the largest number of channels and memory (kB,
16-bit floats) materialized at each spatial resolution, for MobileNetV1, MobileNetV2 and
ShuffleNet 2x (g = 3).

Computed with ``costmodel.memory``: MobileNetV1 with every tensor materialized (the deployment
view, BN folded and activations fused); MobileNetV2 and ShuffleNet with the streamed schedule of
section 5.1 (an expansion conv's output and the per-channel ops after it are computed in channel
slices and never materialized whole; the first layer's trick is the same rule applied to the stem).
Per resolution: the largest materialized tensor (a slice counts with its ceil(C / t) channels);
``max``: the largest over resolutions. kB = 1000 bytes; the table prints kB to two significant
digits (rounding habit ``sig2``: 1,605,632 B is printed 1600). Printed cells, the published
precision, the rounding habit and an explanation for every cell that cannot be reproduced are in
data/mobilenet_v2_table3.csv.
"""
from __future__ import annotations

from typing import List

from ..datafiles import read_csv
from ..memory import plan, resolutions, stream
from ..registry import build
from . import Comparison

PAPER = "mobilenet_v2"
BITS = 16


def _knobs(text: str) -> dict:
    out = {}
    for item in text.split():
        k, _, v = item.partition("=")
        out[k] = float(v) if k == "alpha" else int(v) if v.isdigit() else v
    return out


def materialized(network: str, schedule: str, **knobs) -> dict:
    """size -> (channels, bytes at 16 bits) of the largest materialized tensor, plus 'max'."""
    p = plan(build(network, **knobs))
    if schedule == "streamed":
        p = stream(p)
    rows = {r["size"]: (r["max_channels"], r["max_bytes"]) for r in resolutions(p, BITS)}
    rows["max"] = (None, max(b for _, b in rows.values()))
    return rows


def tables() -> List[Comparison]:
    c = Comparison(PAPER, "MobileNetV2 Table 3: largest materialized tensor per resolution (16-bit, kB)",
                   "arXiv 1801.04381v4 Table 3, section 5.1")
    data = read_csv("mobilenet_v2_table3.csv")
    cache = {}
    for d in data:
        key = (d["network"], d["knobs"], d["schedule"])
        if key not in cache:
            cache[key] = materialized(d["network"], d["schedule"], **_knobs(d["knobs"]))
        got = cache[key].get(d["size"])
        if got is None:
            computed = None
        elif d["quantity"] == "channels":
            computed = got[0]
        else:
            computed = got[1]
        view = ("every tensor materialized (BN folded, activations fused)" if d["schedule"] == "materialized"
                else "streamed schedule (section 5.1 slices; first-layer trick)")
        c.add(f"{d['model']} {d['size']}", d["quantity"], d["published"], d["unit"], computed,
              f"{view}; 16-bit; kB = 1000 B" + ("; printed to 2 significant digits" if d["rounding"] == "sig2"
                                                else ""), d["explanation"], d["rounding"] or "nearest")
    try:
        g2 = materialized("shufflenet_v1", "streamed", alpha=2.0, groups=2)
        c.notes.append("ShuffleNet 2x with g = 2 (not the printed g = 3): channels "
                       + ", ".join(f"{s} {g2[s][0]}" for s in ("28x28", "14x14", "7x7", "1x1") if s in g2)
                       + " - the printed column's widths.")
    except Exception as e:  # pragma: no cover - the note is informative only
        c.notes.append(f"(g = 2 comparison unavailable: {e})")
    return [c]
