"""Built-in calibrated devices fitted to *published* latencies: the ``latency_ms`` rows of the
papers' figures files in data/ (the reproduction data's long schema, the phone in the knobs:
``device=pixel1``), each table mapped to the device profile of its runtime era (``TABLES``).

Each device is fitted on exactly one published table, measured by one team with one runtime
version on one phone (mixing runtime versions would mix 10-15% drifts: MobileNetV2 1.0-224 is
75 ms in its paper, 73.8 ms in the TF-slim README and 64 ms in the MobileNetV3 paper, all on a
Pixel 1), and scored by leave-one-out over that table (``calibrate.evaluate``):

* ``pixel1-kryo-1t``: the TF-slim MobileNetV2 release table (22 alpha x resolution rows, TF-Lite
  of 2018, one large core of a Pixel 1);
* ``pixel1-tflite-2019``: MobileNetV3 Table 9 (19 rows, Large and Small, alpha x resolution);
* ``pixel2-tflite-2019``, ``pixel3-tflite-2019``: MobileNetV3 Table 3's rows of registry
  networks (6 each).

The form fitted depends only on the table's size, fixed before any fit was scored: 12 rows or
more fit ``SPEC_TABLE`` (one time per FLOP for dense convs and linear layers, one for depthwise
convs, one per byte and one per op shared by every class, and t_0); smaller tables fit
``SPEC_SMALL`` (one time per FLOP and one per op). Bytes are fp32 MAC x 4, channels unpadded
(``channel_block`` 1). The roofline baseline of each device is its datasheet roofline (the peak
and bandwidth of data/devices.csv's Pixel 1 row and the SoC datasheets below), no fitting.

``write_builtin()`` regenerates ``data/devices/*.json`` (deterministic: a test checks that the
committed files equal a fresh fit); ``python -m costmodel.published`` runs it.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Optional

from .predictor import CLASSES

DENSE = ("conv", "conv1x1", "gconv", "linear")
SPEC_TABLE = [(DENSE, "flops"), (("dwconv",), "flops"), (CLASSES, "bytes"), (CLASSES, "ops"), ("net", "const")]
SPEC_SMALL = [(CLASSES, "flops"), (CLASSES, "ops")]
SMALL_TABLE = 12

_P1 = ("Qualcomm Snapdragon 821 (Google Pixel 1): Kryo at 2.15 GHz, 8 FP32 FLOPs/cycle = 17.2 GFLOP/s; LPDDR4-1866 "
       "dual channel 29.8 GB/s, one big core assumed to sustain 30% = 9 GB/s")
DEVICES: Dict[str, dict] = {
    "pixel1-kryo-1t": {
        "paper": "mobilenet_v2", "tables": ("release",), "phone": "pixel1", "label": "MobileNetV2 release table",
        "peak_gflops": 17.2, "bandwidth_gbs": 9.0, "datasheet": _P1,
        "runtime": "TF-Lite of 2018 (TF-slim MobileNetV2 README), one large core, float"},
    "pixel1-tflite-2019": {
        "paper": "mobilenet_v3", "tables": ("9",), "phone": "pixel1", "label": "", "peak_gflops": 17.2,
        "bandwidth_gbs": 9.0, "datasheet": _P1,
        "runtime": "TFLite benchmark tool of 2019 (MobileNetV3 paper), one large core, float"},
    "pixel2-tflite-2019": {
        "paper": "mobilenet_v3", "tables": ("3", "small"), "phone": "pixel2", "source": "arXiv 1905.02244v5 Table 3",
        "label": "Pixel 2 column", "peak_gflops": 19.6, "bandwidth_gbs": 9.0,
        "datasheet": "Qualcomm Snapdragon 835 (Google Pixel 2): Kryo 280 performance core at 2.45 GHz, 8 FP32 "
                     "FLOPs/cycle assumed = 19.6 GFLOP/s; LPDDR4X-1866 dual channel 29.8 GB/s, 30% = 9 GB/s "
                     "assumed for one core",
        "runtime": "TFLite benchmark tool of 2019 (MobileNetV3 paper), one large core, float"},
    "pixel3-tflite-2019": {
        "paper": "mobilenet_v3", "tables": ("3", "small"), "phone": "pixel3", "source": "arXiv 1905.02244v5 Table 3",
        "label": "Pixel 3 column", "peak_gflops": 22.4, "bandwidth_gbs": 9.0,
        "datasheet": "Qualcomm Snapdragon 845 (Google Pixel 3): Kryo 385 Gold (Cortex-A75) at 2.8 GHz, 8 FP32 "
                     "FLOPs/cycle = 22.4 GFLOP/s; LPDDR4X-1866 dual channel 29.8 GB/s, 30% = 9 GB/s assumed for "
                     "one core",
        "runtime": "TFLite benchmark tool of 2019 (MobileNetV3 paper), one large core, float"},
}
#: (paper, table, phone) -> the device profile whose runtime era the table was measured with: the
#: tables a device is fitted on, and the others of the same era it predicts (out of sample)
TABLES: Dict[tuple, str] = {
    ("mobilenet_v2", "release", "pixel1"): "pixel1-kryo-1t",
    ("mobilenet_v2", "4", "pixel1"): "pixel1-kryo-1t",
    ("mobilenet_v2", "6", "pixel1"): "pixel1-kryo-1t",
    ("mnasnet", "README", "pixel1"): "pixel1-kryo-1t",
    ("mnasnet", "4", "pixel1"): "pixel1-kryo-1t",
    ("mnasnet", "1", "pixel1"): "pixel1-kryo-1t",
    **{("mobilenet_v3", t, f"pixel{i}"): f"pixel{i}-tflite-2019" for t in ("3", "small", "9", "release")
       for i in (1, 2, 3)},
}


def parse_knobs(text: str) -> Dict[str, str]:
    """'alpha=0.75;res=160;device=pixel1' -> {'alpha': '0.75', 'res': '160', 'device': 'pixel1'}."""
    from .datafiles import parse_knobs as parse
    return {k: str(v) for k, v in parse(text).items()}


def records() -> List[dict]:
    """Every published latency row of the figures files (quantity ``latency_ms``), its knobs parsed
    (``knob_dict``), its paper (``paper``) and the device profile of its era (``device``, or '')."""
    from .datafiles import figure_files, figures
    out = []
    for paper in figure_files():
        for r in figures(paper):
            if r["quantity"] != "latency_ms":
                continue
            r = dict(r, paper=paper)
            r["knob_dict"] = parse_knobs(r["knobs"])
            r["device"] = TABLES.get((paper, r["table"], r["knob_dict"].get("device")), "")
            out.append(r)
    return out


def buildable(r: dict) -> bool:
    from .registry import networks
    return bool(r["network"]) and r["network"] in networks()


def graph_of(r: dict):
    from .registry import build
    k = dict(r["knob_dict"])
    from .roofline import MEASUREMENT_KNOBS
    for key in ("device",) + MEASUREMENT_KNOBS:
        k.pop(key, None)
    alpha = float(k.pop("alpha")) if "alpha" in k else None
    res = int(k.pop("res")) if "res" in k else None
    classes = int(k.pop("classes", 1000))
    return build(r["network"], alpha=alpha, res=res, classes=classes, **k)


def table_rows(name: str) -> List[dict]:
    """The published rows a device is fitted on (its paper's tables and phone, registry networks)."""
    spec = DEVICES[name]
    return [r for r in records() if r["paper"] == spec["paper"] and r["table"] in spec["tables"]
            and r["knob_dict"].get("device") == spec["phone"]
            and r["source"].startswith(spec.get("source", "")) and buildable(r)]


def fit_device(name: str) -> dict:
    """The device file of a published device (see the module doc)."""
    from .calibrate import device_from_rows, row_for
    from .registry import get
    from .roofline import Device
    spec = DEVICES[name]
    roof = Device(name, "mobile", spec["peak_gflops"], spec["bandwidth_gbs"])
    rows = []
    for r in table_rows(name):
        g = graph_of(r)
        k = r["knob_dict"]
        rows.append(row_for(g, float(r["published"]) / 1e3, "network", get(r["network"]).family, r["network"], roof,
                            alpha=float(k.get("alpha", 1.0)), res=int(k.get("res", 224)), model=r["model"],
                            knobs=r["knobs"], source=r["source"]))
    fit_spec = SPEC_TABLE if len(rows) >= SMALL_TABLE else SPEC_SMALL
    table = (rows[0]["source"].split(" (")[0] if rows else "") + (f", {spec['label']}" if spec["label"] else "")
    return device_from_rows(
        rows, fit_spec, name, "mobile", (spec["peak_gflops"], spec["bandwidth_gbs"]),
        source=f"fitted to {len(rows)} published latencies: {table} ({spec['runtime']}); peak and bandwidth "
               f"(roofline key and baseline): {spec['datasheet']}",
        assumptions="calibrated predictor of costmodel.predictor fitted on the published rows (data/"
                    f"{spec['paper']}.csv); fp32 bytes, channels unpadded; the form depends only on the "
                    "table's size (costmodel.published)",
        extra={"table": table, "protocol": "leave-one-out", "channel_block": 1,
               "goals": {"within_10pct": 0.80} if name == "pixel1-kryo-1t" else {}})


def _dump(d: dict) -> str:
    return json.dumps(d, indent=1, sort_keys=False) + "\n"


def write_builtin(directory: Optional[str] = None) -> List[str]:
    """(Re)write data/devices/<name>.json for every published device; returns the paths."""
    from .fileio import write_atomic
    from .roofline import builtin_dir
    d = directory or builtin_dir()
    os.makedirs(d, exist_ok=True)
    out = []
    for name in DEVICES:
        path = os.path.join(d, f"{name}.json")
        write_atomic(path, _dump(fit_device(name)))
        out.append(path)
    return out


def out_of_table(device_name: str) -> List[dict]:
    """Published rows of registry networks that name this device but are not in its fit table:
    predictions against figures the device never saw (other families, other papers)."""
    from .roofline import device, predict
    dev = device(device_name)
    fit_table = DEVICES[device_name]["table"]
    out = []
    for r in records():
        if r["knob_dict"].get("device") != device_name or r["table"] == fit_table or not buildable(r):
            continue
        t = predict(graph_of(r), dev)
        out.append({"source": r["source"], "table": r["table"], "model": r["model"],
                    "published_ms": float(r["published"]), "predicted_ms": t * 1e3,
                    "error": t * 1e3 / float(r["published"]) - 1})
    return out


if __name__ == "__main__":
    for p in write_builtin():
        print(p)
