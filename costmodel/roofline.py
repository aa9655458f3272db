"""Roofline time estimate: a layer takes max(flops / peak FLOP/s, bytes moved / bandwidth).

Device profiles (peak GFLOP/s, bandwidth GB/s, their sources and assumptions) are in
``data/devices.csv``; ``device(peak_gflops=..., bandwidth_gbs=...)`` makes a custom one. Bytes
moved = MAC (ShuffleNet V2 section 2) x bits / 8. A layer whose arithmetic intensity
flops / bytes is below the device's ridge point peak / bandwidth is memory bound: two layers with
equal FLOPs then take different times in proportion to their MAC.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional

from .errors import CostModelError


@dataclass(frozen=True)
class Device:
    name: str
    kind: str
    peak_gflops: float
    bandwidth_gbs: float
    source: str = ""
    assumptions: str = ""

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
    """The profiles of data/devices.csv."""
    from .datafiles import read_csv
    return [Device(r["name"], r["kind"], float(r["peak_gflops"]), float(r["bandwidth_gbs"]), r["source"],
                   r["assumptions"]) for r in read_csv("devices.csv")]


def _positive(v, what):
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise CostModelError(f"{what} must be a positive number, got {v!r}")
    return float(v)


def device(name: Optional[str] = None, peak_gflops: Optional[float] = None,
           bandwidth_gbs: Optional[float] = None) -> Device:
    """A profile by name, optionally overriding its peak or bandwidth, or a custom one from both."""
    if name is None:
        if peak_gflops is None or bandwidth_gbs is None:
            raise CostModelError("a custom device needs both --peak-gflops and --bandwidth-gbs (or give --device NAME)")
        return Device("custom", "custom", _positive(peak_gflops, "peak GFLOP/s"),
                      _positive(bandwidth_gbs, "bandwidth GB/s"), "user", "")
    known = {d.name: d for d in devices()}
    if name not in known:
        raise CostModelError(f"unknown device {name!r}; accepted: {', '.join(known)} (or --peak-gflops and "
                             f"--bandwidth-gbs)")
    d = known[name]
    if peak_gflops is not None or bandwidth_gbs is not None:
        d = Device(d.name + "*", d.kind,
                   d.peak_gflops if peak_gflops is None else _positive(peak_gflops, "peak GFLOP/s"),
                   d.bandwidth_gbs if bandwidth_gbs is None else _positive(bandwidth_gbs, "bandwidth GB/s"),
                   d.source, "overridden by the user")
    return d


def annotate(report, graph, dev: Device) -> dict:
    """Times of an ``analyze`` report's layers on ``dev``: each executed unit (an op with the BN and
    activation fused into it in the deployment view) takes max(flops / peak, mac x bits/8 /
    bandwidth), shown on the unit's first layer (fused layers and views: 0). Returns
    {"device", "peak_gflops", "bandwidth_gbs", "time_s", "layers": rows with time_s and bound};
    the report itself is not modified."""
    from .memory import plan
    mem = report.memory
    bits = mem.get("bits", 32)
    p = plan(graph, unfused=mem.get("unfused", False), zero_copy=mem.get("zero_copy", False))
    per_row = {}
    for u in p.units:
        nbytes = u.mac * bits / 8
        per_row[u.nodes[0]] = (dev.time(u.flops, nbytes), dev.bound(u.flops, nbytes))
    rows = [{**r, "time_s": per_row.get(r["name"], (0.0, ""))[0], "bound": per_row.get(r["name"], (0.0, ""))[1]}
            for r in report.rows]
    return {"device": dev.name, "peak_gflops": dev.peak_gflops, "bandwidth_gbs": dev.bandwidth_gbs,
            "time_s": sum(t for t, _ in per_row.values()), "layers": rows}
