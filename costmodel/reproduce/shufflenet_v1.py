"""ShuffleNet V1 (arXiv 1707.01083v2) Tables 1, 2, 5/6 and the megvii release (data/shufflenet_v1.csv).

The conventions that reproduce each source (``counted_as``): ``madds`` (Mult-Adds, the papers'
"FLOPs", FC included), ``madds_without_fc`` (Table 1's complexity row counts the conv layers
only), ``params_with_bn`` (the release counts BN scale and shift, with the official FC without
bias) and ``channels@stageN`` / ``channels@conv5`` (output channels of a stage, from the built
graph). Rows without ``counted_as`` are data only: accuracy, speed, and the reference networks of
Table 6 (VGG-16, GoogleNet, AlexNet, SqueezeNet), compared in ``costmodel reproduce reference``.
"""
from __future__ import annotations

from .rules import Target, freeze

TITLES = {
    "Table 1": "ShuffleNet V1 Table 1: stage widths and complexity by groups (1x)",
    "Table 2": "ShuffleNet V1 Table 2: MFLOPs by scale factor",
    "Tables 5/6": "ShuffleNet V1 Tables 5 and 6: MFLOPs of ShuffleNet, MobileNet and others",
    "release": "ShuffleNet V1 official release (megvii-model/ShuffleNet-Series)",
}


def _counts(alpha: float, **knobs) -> dict:
    return Target("shufflenet_v1", freeze(dict(alpha=alpha, **knobs))).counts()


def _m(v: int) -> str:
    return f"{v / 1e6:.2f} M"


def notes(tables: dict) -> None:
    from ..datafiles import figures, parse_knobs
    fc = {}
    for r in figures("shufflenet_v1"):
        if r["table"] == "Table 1" and r["counted_as"] == "madds_without_fc":
            k = parse_knobs(r["knobs"])
            fc[f"groups={k['groups']}"] = (r["published"], _counts(k.get("alpha", 1.0), groups=k["groups"])["madds"])
    off = sum(round(v / 1e6) != int(p) for p, v in fc.values())
    tables["Table 1"].notes.append(
        "with the FC the complexities would be " + ", ".join(f"{_m(v)} ({k})" for k, (_, v) in fc.items())
        + f": {off} of {len(fc)} would differ; the conv layers alone reproduce all of them")
    tables["Table 2"].notes.append(
        "Table 2 prints one MFLOPs figure per scale for all group counts; data/ repeats it per g. Widths other than "
        "the official code's (g = 3, 8) follow the documented rule: stages make_divisible(s c, 4 g), stem "
        "make_divisible(24 s, g)")
    bias = _counts(2.0, groups=3, fc_bias="true")["params_with_bn"]
    tables["release"].notes.append(
        f"params count BN scale and shift and the official FC without bias; with a biased FC the 2.0x g3 model "
        f"would have {bias:,} (prints 5.5, not 5.4)")
