"""Calculators: sum each op's cost formulas over a graph, per layer and in total.

Conventions (also in the README and printed under every table):
- ``params``: weights and biases of conv and linear layers (what the papers count), and the
  per-channel gammas of layer scale (MobileNetV4's hybrids);
- ``params_with_bn``: plus BatchNorm scale and shift (what PyTorch's ``parameters()`` counts);
- ``madds``: multiply-accumulates of conv and linear layers (the papers' Mult-Adds, TF-slim's
  MACs, ShuffleNet's "FLOPs");
- ``flops``: 2 x madds plus every other op's arithmetic (see ``costmodel.ops``), attention's
  products included;
- ``attn_madds``: multiply-accumulates of products of activations (attention's Q K^T and A V,
  ``costmodel.ops_attention``), 0 without attention and never part of ``madds``.
- ``bn_channels``: channels under a BatchNorm, so that other conventions (TF-slim checkpoints
  also store moving mean and variance) are ``params + k * bn_channels``.
- ``mac``: memory access cost in elements (ShuffleNet V2 section 2: feature maps read + written +
  weights), deployment view unless ``unfused``; per layer with ``arithmetic_intensity`` =
  (madds + attn_madds) / mac; ``peak_activation_bytes``: peak live activations of the optimal
  schedule at ``bits`` (see ``costmodel.memory`` and docs/memory.md).
All counts are exact Python integers, at batch 1 unless ``batch`` says otherwise: at batch N,
Mult-Adds, FLOPs, activation traffic and peak memory are N times batch 1's, parameters are not,
and MAC reads the weights once per batch: N x (activations read + written) + weights.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

from .graph import Graph
from .gcpause import gc_paused

COUNT_KEYS = ("params", "params_with_bn", "madds", "flops", "attn_madds")
#: graph meta keys that are not knobs (the JSON's top level says them)
META_KEYS = ("network", "alpha", "resolution", "height", "width", "classes", "family", "depth", "batch", "precision")

CONVENTION = (
    "params = conv/linear weights + biases (+ layer-scale gammas); "
    "params_with_bn = params + BatchNorm scale and shift; "
    "madds = multiply-accumulates of conv/linear (the papers' Mult-Adds); "
    "flops = 2 x madds + all other arithmetic (bias, BN, activations, pooling, adds, gates); "
    "attn_madds = multiply-accumulates of attention's Q.K^T and A.V products (0 without attention, not in madds)"
)


def convention(batch: int = 1) -> str:
    """The convention line, naming the batch (weights read once per batch in MAC)."""
    if batch == 1:
        return CONVENTION + "; batch 1"
    return CONVENTION + f"; batch {batch}: madds, flops, activation MAC and peak memory x {batch}, weights once"


#: the keys ``node_counts`` gives: the counts that are plain sums over nodes
SUM_KEYS = COUNT_KEYS + ("bn_channels",)


def node_counts(node, batch: int = 1) -> Dict[str, int]:
    """One node's counts (``SUM_KEYS``): the op's formulas on its shapes, Mult-Adds and FLOPs at
    ``batch``. The one place they are evaluated: ``analyze``, the sweep (on symbolic shapes) and the
    reproduction all sum this. (The formulas run once per node: ``Node.costs`` keeps them.)"""
    op, ins = node.op, node.in_shapes
    p, bn, madds, flops, attn = node.costs
    return {"params": p, "params_with_bn": p + bn, "madds": batch * madds, "flops": batch * flops,
            "attn_madds": batch * attn, "bn_channels": ins[0][0] if op.kind == "batchnorm" else 0}


def layer_rows(graph: Graph, batch: int = 1) -> List[dict]:
    """One dict per node with its shapes and exact integer costs (Mult-Adds and FLOPs at ``batch``)."""
    rows = []
    for n in graph.nodes:
        op, ins, outs = n.op, n.in_shapes, n.out_shapes
        p, bn, madds, flops, attn = n.costs  # node_counts, inlined: this loop runs for every node of every build
        kind = op.kind
        rows.append({
            "name": n.name,
            "op": op.label(ins),
            "kind": kind,
            "block": n.scope,
            "input_shape": list(ins[0]) if ins else [],
            "input_shapes": [list(s) for s in ins],
            "output_shape": list(outs[0]),
            "params": p, "params_with_bn": p + bn, "madds": batch * madds, "flops": batch * flops,
            "attn_madds": batch * attn, "bn_channels": ins[0][0] if kind == "batchnorm" else 0,
        })
    return rows


def count_totals(graph: Graph, batch: int = 1) -> Dict[str, int]:
    """The count totals (``SUM_KEYS``) of a graph: ``node_counts`` summed over its nodes."""
    params = bn_params = madds = flops = attn = bn_channels = 0
    for n in graph.nodes:  # node_counts, inlined (the same sums, without a dict per node)
        p, bn, m, f, a = n.__dict__.get("_costs") or n.costs  # Node.costs, without the property call
        params += p
        bn_params += bn
        madds += m
        flops += f
        attn += a
        if n.op.kind == "batchnorm":
            bn_channels += n.in_shapes[0][0]
    # batch x a sum = the sum of batch x each term (exact integers)
    return {"params": params, "params_with_bn": params + bn_params, "madds": batch * madds, "flops": batch * flops,
            "attn_madds": batch * attn, "bn_channels": bn_channels}


class _Deferred:
    """Rows not made yet: ``Report.rows`` calls ``make()`` on first access and keeps the list."""

    __slots__ = ("make",)

    def __init__(self, make):
        self.make = make


@dataclass
class Report:
    """What ``analyze`` returns: ``totals`` (dict of exact ints) and per-layer ``rows``;
    ``layers`` is the same rows as a pandas DataFrame (pandas imported on first use).

    ``analyze`` makes the rows on first use of ``rows`` (most callers read only the totals, and
    the rows of a large network take as long as its totals): ``rows`` is a property over the
    instance's ``_rows`` (installed below the class, so that the dataclass keeps ``rows`` as its
    field: the constructor, ``replace``, equality and repr are unchanged)."""

    network: str
    alpha: float
    resolution: object  #: N for a square input, [H, W] otherwise
    classes: int
    totals: Dict[str, int]
    rows: List[dict]
    meta: Dict = field(default_factory=dict)
    #: how MAC and peak memory were counted: bits, unfused, zero_copy
    memory: Dict = field(default_factory=dict)
    batch: int = 1

    @property
    def layers(self):
        import pandas as pd
        return pd.DataFrame(self.rows)

    def __getstate__(self):  # pickle and copy: the rows themselves, not the function that makes them
        self.rows
        return self.__dict__
    def __repr__(self) -> str:
        """One line: network, configuration, the main totals and the number of layers."""
        t = self.totals
        return (f"<Report {self.network} alpha={self.alpha:g} resolution={self._res()} batch={self.batch}: "
                f"params={t.get('params', 0):,} madds={t.get('madds', 0):,} flops={t.get('flops', 0):,}, "
                f"{len(self.rows)} layers>")

    def __str__(self) -> str:
        """A short summary (not the table): network, configuration, totals with units, the number of
        layers, and how to see the table."""
        from .render import scaled
        t = self.totals
        knobs = {k: v for k, v in self.meta.items() if k not in META_KEYS and v is not None}
        cfg = f"alpha {self.alpha:g}, resolution {self._res()}, classes {self.classes}, batch {self.batch}" + (
            f", depth {self.meta['depth']:g}" if "depth" in self.meta else "") + "".join(
            f", {k}={v}" for k, v in knobs.items())
        bits = self.memory.get("bits", 32)
        lines = [f"{self.network}: {cfg}",
                 f"  params      {scaled(t['params']):>10}  ({t['params']:,})",
                 f"  Mult-Adds   {scaled(t['madds']):>10}  ({t['madds']:,})",
                 f"  FLOPs       {scaled(t['flops']):>10}  ({t['flops']:,})"]
        if "mac" in t:
            lines.append(f"  MAC         {scaled(t['mac']):>10}  elements ({scaled(t['mac_bytes'], 'B')} at "
                         f"{bits}-bit)")
        if "peak_activation_bytes" in t:
            lines.append(f"  peak memory {scaled(t['peak_activation_bytes'], 'B'):>10}  (activations, optimal "
                         f"schedule, {bits}-bit)")
        lines.append(f"{len(self.rows)} layers: report.layers (a DataFrame), report.rows (dicts), or "
                     f"'costmodel table {self.network}' (KB = 1000 B)")
        return "\n".join(lines)

    def _res(self) -> str:
        r = self.resolution
        return f"{r[0]}x{r[1]}" if isinstance(r, (list, tuple)) else str(r)

    def to_dict(self) -> dict:
        """The JSON contract of ``costmodel table --format json`` (keys are only ever added)."""
        knobs = {k: v for k, v in self.meta.items() if k not in META_KEYS}
        d = {
            "network": self.network, "family": self.meta.get("family", ""), "alpha": self.alpha,
            "resolution": self.resolution, "height": self.meta.get("height"), "width": self.meta.get("width"),
            "classes": self.classes, "batch": self.batch,
        }
        if "depth" in self.meta:
            d["depth"] = self.meta["depth"]
        if "precision" in self.meta:  # per-layer bits (costmodel.precision)
            d["precision"] = self.meta["precision"]
        d.update({"knobs": knobs, "convention": convention(self.batch), "totals": dict(self.totals),
                  "layers": [dict(r) for r in self.rows], "memory_view": dict(self.memory)})
        return d


def _get_rows(self) -> List[dict]:
    rows = self.__dict__["_rows"]
    if type(rows) is _Deferred:
        rows = self.__dict__["_rows"] = rows.make()
    return rows


def _set_rows(self, rows) -> None:
    self.__dict__["_rows"] = rows


Report.rows = property(_get_rows, _set_rows, doc="One dict per node (``layer_rows`` plus mac, "
                       "arithmetic_intensity, weight_bytes and, under a precision spec, mac_bytes).")


@gc_paused
def analyze(graph: Graph, bits: int = 32, unfused: bool = False, zero_copy: bool = False, batch: int = 1,
            weight_bits: int = 32) -> Report:
    """Per-layer and total params, params_with_bn, madds, flops and MAC (elements) of a graph at
    batch size ``batch``, with the peak activation memory of the optimal schedule in bytes at
    ``bits`` and the weight bytes (Flash) at ``weight_bits`` (docs/memory.md).

    Weight bytes (``costmodel.precision``): ``weight_bytes`` per layer and in total, every parameter
    at ``weight_bits`` (or the graph's per-layer precision) with BN folded; ``params_bytes``: the
    papers' ``params`` at fp32. A graph carrying a precision spec (``graph.meta["precision"]``) also
    gets its MAC bytes (per layer ``mac_bytes`` and in total) and its peak activation bytes at each
    tensor's own bits."""
    from . import validate
    from .graph import require_graph
    from .memory import check_bits, node_mac, plan, to_bytes
    from .memory_liveness import optimal_peak
    from .precision import check_weight_bits, graph_precision, layer_weight_bytes, weight_bytes
    require_graph(graph, "analyze")
    bits = check_bits(bits)
    batch = validate.batch(batch, "analyze")
    p = plan(graph, unfused=unfused, zero_copy=zero_copy, batch=batch)  # activations x batch, weights once
    prec = graph_precision(graph, bits, weight_bits)
    check_weight_bits(weight_bits)
    wp = p if batch == 1 else None  # the plan the weight bytes may use (deployment view at batch 1)
    totals = count_totals(graph, batch)
    totals["mac"] = sum([u.mac for u in p.units])  # = the rows' MAC (node_mac) summed
    totals["mac_bytes"] = to_bytes(totals["mac"], bits)
    totals["peak_activation_bytes"] = to_bytes(optimal_peak(p), bits)  # = schedule(p, "optimal").peak
    totals["weight_bytes"] = weight_bytes(graph, weight_bits, prec, wp)  # = the rows' weight bytes summed
    totals["params_bytes"] = 4 * totals["params"]
    mac_bytes = None
    if prec is not None:  # MAC bytes and the peak with every tensor at its own bits
        from .precision import unit_mac_bytes
        pp = plan(graph, unfused, zero_copy, precision=prec, batch=batch)  # its buffers at their bits
        mac_bytes = unit_mac_bytes(pp, bits, weight_bits)
        totals["mac_bytes"] = sum(mac_bytes.values())
        totals["peak_activation_bytes"] = optimal_peak(pp)
    m = graph.meta
    return Report(m.get("network", graph.name), m.get("alpha", 1.0), m.get("resolution", graph.input_shape[-1]),
                  m.get("classes", 0), totals, _Deferred(lambda: _rows(graph, batch, node_mac(p), layer_weight_bytes(
                      graph, weight_bits, prec, wp), mac_bytes)), dict(m),
                  {"bits": bits, "unfused": bool(unfused), "zero_copy": bool(zero_copy)}, batch)


def _rows(graph: Graph, batch: int, macs: Dict[str, int], wb: Dict[str, int], mac_bytes=None) -> List[dict]:
    """``analyze``'s rows: ``layer_rows``' row of each node, then its MAC, arithmetic intensity,
    weight bytes and (under a precision spec) MAC bytes, in one pass."""
    rows = []
    for n in graph.nodes:
        op, ins, outs = n.op, n.in_shapes, n.out_shapes
        prm, bn, madds, flops, attn = n.costs
        kind, name = op.kind, n.name
        madds, attn, mac = batch * madds, batch * attn, macs[name]
        rows.append({
            "name": name, "op": op.label(ins), "kind": kind, "block": n.scope,
            "input_shape": list(ins[0]) if ins else [], "input_shapes": [list(s) for s in ins],
            "output_shape": list(outs[0]),
            "params": prm, "params_with_bn": prm + bn, "madds": madds, "flops": batch * flops,
            "attn_madds": attn, "bn_channels": ins[0][0] if kind == "batchnorm" else 0,
            "mac": mac, "arithmetic_intensity": (madds + attn) / mac if mac else 0.0,
            "weight_bytes": wb[name],
        })
    if mac_bytes is not None:
        for r in rows:
            r["mac_bytes"] = mac_bytes.get(r["name"], 0)
    return rows
