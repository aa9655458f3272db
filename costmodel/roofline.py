"""Device profiles and their time estimates.

Roofline: a layer takes max(flops / peak FLOP/s, bytes moved / bandwidth). Bytes moved = MAC
(ShuffleNet V2 section 2) x bits / 8. A layer whose arithmetic intensity flops / bytes is below the
device's ridge point peak / bandwidth is memory bound: two layers with equal FLOPs then take
different times in proportion to their MAC.

Calibrated (``model == "calibrated"``): the fitted predictor of ``costmodel.predictor``
(t = t_0 + sum over units of a_k flops + b_k bytes + c_k per op class k), from measurements on a
machine (``costmodel calibrate``) or from published latencies (the Pixel devices).

Devices: the roofline rows of ``data/devices.csv`` and the device files ``data/devices/*.json``
(built in), or any device file written by ``costmodel calibrate``: ``device(name_or_path)``
accepts a name or a path to a ``.json`` file, so every command that takes ``--device`` takes
both. ``device(peak_gflops=..., bandwidth_gbs=...)`` makes a custom roofline. A device file
with a missing, non-numeric or negative field is rejected in one line naming the field.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from .errors import CostModelError
from .validate import short


@dataclass(frozen=True)
class Device:
    name: str
    kind: str
    peak_gflops: float
    bandwidth_gbs: float
    source: str = ""
    assumptions: str = ""
    model: str = "roofline"          #: "roofline" or "calibrated"
    coefficients: Optional[Dict[str, Dict[str, float]]] = field(default=None, compare=False, repr=False)
    per_inference_s: float = 0.0     #: t_0 of the calibrated model
    path: str = ""                   #: the device file it came from ("" for data/devices.csv rows)
    info: Dict = field(default_factory=dict, compare=False, repr=False)  #: the whole device file

    @property
    def ridge(self) -> float:
        """FLOPs per byte above which a layer is compute bound."""
        return self.peak_gflops / self.bandwidth_gbs

    def time(self, flops: float, nbytes: float) -> float:
        """Seconds: max(flops / peak, bytes / bandwidth)."""
        return max(flops / (self.peak_gflops * 1e9), nbytes / (self.bandwidth_gbs * 1e9))

    def bound(self, flops: float, nbytes: float) -> str:
        if not flops and not nbytes:
            return ""
        return "compute" if flops / (self.peak_gflops * 1e9) >= nbytes / (self.bandwidth_gbs * 1e9) else "memory"


def devices() -> List[Device]:
    """The built-in profiles: the roofline rows of data/devices.csv, then data/devices/*.json."""
    from .datafiles import read_csv
    out = [Device(r["name"], r["kind"], float(r["peak_gflops"]), float(r["bandwidth_gbs"]), r["source"],
                  r["assumptions"]) for r in read_csv("devices.csv")]
    d = builtin_dir()
    if os.path.isdir(d):
        for f in sorted(os.listdir(d)):
            if f.endswith(".json"):
                out.append(load_device_file(os.path.join(d, f)))
    return out


def builtin_dir() -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "devices")


class DeviceError(CostModelError):
    """A device file that cannot be used (names the file and the field)."""


def _field(d: dict, key: str, path: str, where: str = ""):
    name = f"{where}{key}"
    if not isinstance(d, dict) or key not in d:
        raise DeviceError(f"device file {path}: field {short(name)} is missing")
    return d[key]


def _number(d: dict, key: str, path: str, where: str = "", positive: bool = False) -> float:
    v = _field(d, key, path, where)
    name = f"{where}{key}"
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise DeviceError(f"device file {path}: field {short(name)} must be a number, got {short(v)}")
    if v < 0 or (positive and v == 0):
        want = "positive" if positive else "non-negative"
        raise DeviceError(f"device file {path}: field {short(name)} must be {want}, got {short(v)}")
    return float(v)


def load_device_file(path: str) -> Device:
    """A device from a JSON file (``costmodel calibrate`` writes them); one-line ``DeviceError``
    naming the field when one is missing, not a number or negative."""
    import json
    from .fileio import read_bytes
    raw = read_bytes(path, "device file", DeviceError)
    try:
        d = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise DeviceError(f"device file {path}: not a text file (byte {e.start} is not UTF-8)") from None
    except RecursionError:
        raise DeviceError(f"device file {path}: not valid JSON (nested too deeply)") from None
    except ValueError as e:  # malformed, or an integer of more digits than Python converts
        raise DeviceError(f"device file {path}: not valid JSON ({' '.join(str(e).split())[:160]})") from None
    if not isinstance(d, dict):
        raise DeviceError(f"device file {path}: expected a JSON object with name, model, peak_gflops, "
                          f"bandwidth_gbs, ...")
    name = _field(d, "name", path)
    if not isinstance(name, str) or not name:
        raise DeviceError(f"device file {path}: field 'name' must be a non-empty string, got {short(name)}")
    model = _field(d, "model", path)
    if model not in ("roofline", "calibrated"):
        raise DeviceError(f"device file {path}: field 'model' must be 'roofline' or 'calibrated', got {short(model)}")
    peak = _number(d, "peak_gflops", path, positive=True)
    bw = _number(d, "bandwidth_gbs", path, positive=True)
    coefs, t0 = None, 0.0
    if model == "calibrated":
        from .predictor import CLASSES, COEF_KEYS
        c = _field(d, "coefficients", path)
        if not isinstance(c, dict):
            raise DeviceError(f"device file {path}: field 'coefficients' must be an object of op classes")
        coefs = {k: {key: _number(_field(c, k, path, "coefficients."), key, path, f"coefficients.{k}.")
                     for key in COEF_KEYS} for k in CLASSES}
        t0 = _number(d, "per_inference_s", path)
        if "channel_block" in d:
            _number(d, "channel_block", path)
    return Device(name, str(d.get("kind", "measured")), peak, bw, str(d.get("source", "")),
                  str(d.get("assumptions", "")), model, coefs, t0, path, d)


def _positive(v, what):
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise CostModelError(f"{what} must be a positive number, got {short(v)}")
    return float(v)


def device(name: Optional[str] = None, peak_gflops: Optional[float] = None,
           bandwidth_gbs: Optional[float] = None) -> Device:
    """A profile by name or device-file path (``.json``), optionally overriding its peak or
    bandwidth, or a custom roofline from both."""
    if isinstance(name, Device):
        return name
    if name is not None and (str(name).lower().endswith(".json") or os.sep in str(name)):
        d = load_device_file(str(name))
        if peak_gflops is not None or bandwidth_gbs is not None:
            raise CostModelError("--peak-gflops and --bandwidth-gbs override a named roofline device, not a "
                                 "device file (edit the file instead)")
        return d
    if name is None:
        if peak_gflops is None or bandwidth_gbs is None:
            raise CostModelError("a custom device needs both --peak-gflops and --bandwidth-gbs (or give --device NAME)")
        return Device("custom", "custom", _positive(peak_gflops, "peak GFLOP/s"),
                      _positive(bandwidth_gbs, "bandwidth GB/s"), "user", "")
    known = {d.name: d for d in devices()}
    if name not in known:
        raise CostModelError(f"unknown device {short(name)}; accepted: {', '.join(known)}, or a device file "
                             f"(costmodel calibrate -o FILE.json); costmodel table also takes a custom roofline "
                             f"(--peak-gflops and --bandwidth-gbs)")
    d = known[name]
    if (peak_gflops is not None or bandwidth_gbs is not None) and d.model != "roofline":
        raise CostModelError(f"device {short(name)} is calibrated; --peak-gflops and --bandwidth-gbs override "
                             f"roofline "
                             f"devices only")
    if peak_gflops is not None or bandwidth_gbs is not None:
        d = Device(d.name + "*", d.kind,
                   d.peak_gflops if peak_gflops is None else _positive(peak_gflops, "peak GFLOP/s"),
                   d.bandwidth_gbs if bandwidth_gbs is None else _positive(bandwidth_gbs, "bandwidth GB/s"),
                   d.source, "overridden by the user")
    return d


def annotate(report, graph, dev: Device) -> dict:
    """Times of an ``analyze`` report's layers on ``dev``: each executed unit (an op with the BN and
    activation fused into it in the deployment view) takes max(flops / peak, mac x bits/8 /
    bandwidth), shown on the unit's first layer (fused layers and views: 0), in the report's view
    (bits, unfused, zero-copy, batch: a batch of N reads the weights once and N samples' activations).
    Returns {"device", "peak_gflops", "bandwidth_gbs", "time_s", "layers": rows with time_s and
    bound}; the report itself is not modified."""
    from .memory import plan
    mem = report.memory
    bits = mem.get("bits", 32)
    p = plan(graph, unfused=mem.get("unfused", False), zero_copy=mem.get("zero_copy", False),
             batch=report.batch or 1)
    per_row = {}
    for u in p.units:
        nbytes = u.mac * bits / 8
        per_row[u.nodes[0]] = (dev.time(u.flops, nbytes), dev.bound(u.flops, nbytes))
    rows = [{**r, "time_s": per_row.get(r["name"], (0.0, ""))[0], "bound": per_row.get(r["name"], (0.0, ""))[1]}
            for r in report.rows]
    return {"device": dev.name, "peak_gflops": dev.peak_gflops, "bandwidth_gbs": dev.bandwidth_gbs,
            "time_s": sum(t for t, _ in per_row.values()), "layers": rows}


def roofline_time(graph, dev: Device, bits: int = 32, *, unfused: bool = False, zero_copy: bool = False,
                  batch: int = 1) -> float:
    """Seconds: the sum over executed units of max(flops / peak, bytes / bandwidth) (no fitting), in
    the view given (the units of ``memory.plan(graph, unfused, zero_copy, batch=batch)``, values of
    ``bits``)."""
    from .memory import plan
    return sum(dev.time(u.flops, u.mac * bits / 8)
               for u in plan(graph, unfused, zero_copy, batch=batch).units)


#: what a calibrated device predicts: the runtime it was measured on, at batch 1 in 32-bit floats
CALIBRATED_BITS, CALIBRATED_BATCH = 32, 1


def check_view(dev: Device, bits: int = 32, batch: int = 1) -> None:
    """A calibrated device predicts what it was fitted on (its runtime at batch 1, 32-bit floats):
    another batch or precision is refused, not answered with the fitted one's time. A roofline
    device takes any (the roofline has no fitted constants)."""
    if dev.model == "calibrated" and (bits != CALIBRATED_BITS or batch != CALIBRATED_BATCH):
        asked = ", ".join(x for x in (f"--bits {bits}" if bits != CALIBRATED_BITS else "",
                                      f"--batch {batch}" if batch != CALIBRATED_BATCH else "") if x)
        raise CostModelError(f"device {short(dev.name)} is calibrated at batch 1 in 32-bit floats and predicts "
                             f"nothing else ({asked}); leave {'it' if ',' not in asked else 'them'} out, or give a "
                             f"roofline device (e.g. --device x86-avx2-core) for an uncalibrated estimate")


def _calibrated_entries(graph, dev: Device):
    """(class, flops, bytes, name) of every executed unit and layout conversion under the device's
    runtime rules (``channel_block``, ``unfused_activations`` of its file)."""
    from .predictor import layout_features, unit_features
    block = int(dev.info.get("channel_block", 1) or 1)
    unfused = tuple(dev.info.get("unfused_activations", ()) or ())
    return unit_features(graph, block=block, unfused=unfused) + layout_features(graph, block=block)


def unit_times(graph, dev: Device, bits: int = 32, *, unfused: bool = False, zero_copy: bool = False,
               batch: int = 1) -> Dict[str, float]:
    """Seconds per layer that starts an executed unit, keyed by its name. A roofline device: each
    unit of the view given (bits, unfused, zero-copy, batch). A calibrated device: its runtime's own
    units (its fusion rules, not the view's), batch 1 in 32-bit floats (``check_view``); an unfused
    activation is keyed by its own node, and a layout conversion is counted with the layer that
    writes the tensor (the graph input's, with the first layer reading it), so that the times add
    up to the prediction less the per-inference constant."""
    if dev.model != "calibrated":
        from .memory import plan
        return {u.nodes[0]: dev.time(u.flops, u.mac * bits / 8)
                for u in plan(graph, unfused, zero_copy, batch=batch).units}
    check_view(dev, bits, batch)
    from .predictor import unit_time
    out: Dict[str, float] = {}
    for k, f, m, name in _calibrated_entries(graph, dev):
        out[name] = out.get(name, 0.0) + unit_time(dev.coefficients, k, f, m)
    return out


def predict(graph, dev, bits: int = 32, *, unfused: bool = False, zero_copy: bool = False, batch: int = 1) -> float:
    """Seconds for one forward pass of ``graph`` (``batch`` samples) on ``dev`` (a Device, name or
    device-file path): the calibrated predictor (t_0 + sum of unit times; batch 1, 32-bit floats)
    for calibrated devices, the roofline in the view given otherwise."""
    dev = device(dev) if not isinstance(dev, Device) else dev
    if dev.model != "calibrated":
        return roofline_time(graph, dev, bits, unfused=unfused, zero_copy=zero_copy, batch=batch)
    check_view(dev, bits, batch)
    return dev.per_inference_s + sum(unit_times(graph, dev).values())


def latency(graph, dev: Device, bits: int = 32, *, unfused: bool = False, zero_copy: bool = False,
            batch: int = 1) -> dict:
    """The ``latency`` block of ``table --format json``: device, model, time_s, and what the time is
    of (bits, batch, view: the report's view for a roofline device, the runtime's own fusion for a
    calibrated one)."""
    view = "runtime" if dev.model == "calibrated" else \
        "unfused" if unfused else "zero-copy" if zero_copy else "deployment"
    return {"device": dev.name, "model": dev.model,
            "time_s": predict(graph, dev, bits, unfused=unfused, zero_copy=zero_copy, batch=batch),
            "bits": bits, "batch": batch, "view": view}


#: knobs of a published latency that describe the measurement (batch 1, one thread, float), not the network
MEASUREMENT_KNOBS = ("batch", "threads", "precision")


def predict_latency(net: str, knobs: Optional[dict] = None, dev="pixel1-kryo-1t") -> float:
    """Seconds predicted for a network given as reproduction rows give it: ``net`` a registry name,
    ``knobs`` a dict or an ``alpha=0.75;res=160;device=pixel1`` string (``alpha``, ``res``,
    ``classes`` and network knobs; a ``device`` knob overrides ``dev``)."""
    from .registry import build
    if isinstance(knobs, str):
        knobs = dict(kv.split("=", 1) for kv in knobs.split(";") if kv.strip())
    knobs = dict(knobs or {})
    dev = knobs.pop("device", dev)
    for k in MEASUREMENT_KNOBS:  # how the figure was measured, not what was built
        knobs.pop(k, None)
    alpha = knobs.pop("alpha", None)
    res = knobs.pop("res", knobs.pop("resolution", None))
    classes = knobs.pop("classes", 1000)
    g = build(net, alpha=None if alpha is None else float(alpha), res=None if res is None else int(res),
              classes=int(classes), **knobs)
    return predict(g, dev)


#: configurations above which --device on a sweep is refused (each is built and summed, ~5 ms)
LATENCY_GRID_LIMIT = 20_000


def check_latency_rows(n: int, hint: str = "narrow the grid", what: str = "the grid has") -> None:
    """--device builds and predicts each of ``n`` configurations: at most ``LATENCY_GRID_LIMIT``
    (commands check it before computing; ``what`` says whose configurations, ``hint`` what to do)."""
    if n > LATENCY_GRID_LIMIT:
        raise CostModelError(f"--device predicts each configuration separately, at most {LATENCY_GRID_LIMIT:,}; "
                             f"{what} {n:,}: {hint}")


def latency_for(net: str, configs, dev, classes=None, *, bits: int = 32, **knobs) -> List[float]:
    """Predicted seconds on ``dev`` for each (alpha, resolution) of ``configs`` of NET (a registry
    name, spec file, block string or ONNX model) at ``bits``: one build per configuration (the
    sweep's vectorized totals do not carry per-unit times). For ``sweep``, ``fit``, ``export``."""
    from .sources import load, source_kind
    dev = device(dev) if not isinstance(dev, Device) else dev
    check_view(dev, bits)
    configs = list(configs)
    check_latency_rows(len(configs))
    out, cache = [], {}
    imported = source_kind(net) in ("onnx", "torch")  # fixed widths and classifier
    for a, r in configs:
        r = tuple(r) if isinstance(r, (list, tuple)) else int(r)
        key = (float(a), r)
        if key not in cache:
            g = load(net, None if imported else float(a), r, None if imported else classes, **knobs)
            cache[key] = predict(g, dev, bits)
        out.append(cache[key])
    return out


def parse_seconds(text: str, option: str = "time") -> float:
    """'20ms' -> 0.02; '150us', '0.5s', '2' (seconds)."""
    import re
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(s|ms|us)?\s*", str(text))
    if not m:
        raise CostModelError(f"bad value {text!r} for {option}: expected a time such as 20ms, 150us or 0.5s")
    return float(m.group(1)) * {None: 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6}[m.group(2)]
