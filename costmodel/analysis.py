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
    reproduction all sum this."""
    op, ins, outs = node.op, node.in_shapes, node.out_shapes
    p = op.params(ins)
    return {"params": p, "params_with_bn": p + op.bn_params(ins), "madds": batch * op.madds(ins, outs),
            "flops": batch * op.flops(ins, outs), "attn_madds": batch * op.attn_madds(ins, outs),
            "bn_channels": ins[0][0] if op.kind == "batchnorm" else 0}


def layer_rows(graph: Graph, batch: int = 1) -> List[dict]:
    """One dict per node with its shapes and exact integer costs (Mult-Adds and FLOPs at ``batch``)."""
    rows = []
    for n in graph.nodes:
        ins, outs = n.in_shapes, n.out_shapes
        c = node_counts(n, batch)
        rows.append({
            "name": n.name,
            "op": n.op.label(ins),
            "kind": n.op.kind,
            "block": n.scope,
            "input_shape": list(ins[0]) if ins else [],
            "input_shapes": [list(s) for s in ins],
            "output_shape": list(outs[0]),
            **c,
        })
    return rows


def count_totals(graph: Graph, batch: int = 1) -> Dict[str, int]:
    """The count totals (``SUM_KEYS``) of a graph."""
    t = dict.fromkeys(SUM_KEYS, 0)
    for n in graph.nodes:
        for k, v in node_counts(n, batch).items():
            t[k] += v
    return t


@dataclass
class Report:
    """What ``analyze`` returns: ``totals`` (dict of exact ints) and per-layer ``rows``;
    ``layers`` is the same rows as a pandas DataFrame (pandas imported on first use)."""

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


def analyze(graph: Graph, bits: int = 32, unfused: bool = False, zero_copy: bool = False, batch: int = 1,
            weight_bits: int = 32) -> Report:
    """Per-layer and total params, params_with_bn, madds, flops and MAC (elements) of a graph at
    batch size ``batch``, with the peak activation memory of the optimal schedule in bytes at
    ``bits`` and the weight bytes (Flash) at ``weight_bits`` (docs/memory.md)."""
    from . import validate
    from .graph import require_graph
    from .memory import check_bits, node_mac, plan, schedule, to_bytes
    require_graph(graph, "analyze")
    bits = check_bits(bits)
    batch = validate.batch(batch, "analyze")
    rows = layer_rows(graph, batch)
    p = plan(graph, unfused=unfused, zero_copy=zero_copy, batch=batch)  # activations x batch, weights once
    macs = node_mac(p)
    for r in rows:
        r["mac"] = macs[r["name"]]
        r["arithmetic_intensity"] = (r["madds"] + r["attn_madds"]) / r["mac"] if r["mac"] else 0.0
    totals = count_totals(graph, batch)
    totals["mac"] = sum(u.mac for u in p.units)
    totals["mac_bytes"] = to_bytes(totals["mac"], bits)
    totals["peak_activation_bytes"] = to_bytes(schedule(p, "optimal").peak, bits)
    _add_weight_bytes(graph, rows, totals, bits, weight_bits, unfused, zero_copy, p if batch == 1 else None, batch)
    m = graph.meta
    return Report(m.get("network", graph.name), m.get("alpha", 1.0), m.get("resolution", graph.input_shape[-1]),
                  m.get("classes", 0), totals, rows, dict(m),
                  {"bits": bits, "unfused": bool(unfused), "zero_copy": bool(zero_copy)}, batch)


def _add_weight_bytes(graph: Graph, rows: List[dict], totals: Dict[str, int], bits: int, weight_bits: int,
                      unfused: bool = False, zero_copy: bool = False, p=None, batch: int = 1) -> None:
    """Weight bytes (Flash, ``costmodel.precision``): ``weight_bytes`` per layer and in total, every
    parameter at ``weight_bits`` (or the graph's per-layer precision) with BN folded; ``params_bytes``:
    the papers' ``params`` at fp32. A graph carrying a precision spec (``graph.meta["precision"]``)
    also gets its MAC bytes (per layer ``mac_bytes`` and in total) and its peak activation bytes at
    each tensor's own bits."""
    from .precision import graph_precision, layer_weight_bytes, unit_mac_bytes
    prec = graph_precision(graph, bits, weight_bits)
    wb = layer_weight_bytes(graph, weight_bits, prec, p)
    for r in rows:
        r["weight_bytes"] = wb[r["name"]]
    totals["weight_bytes"] = sum(wb.values())
    totals["params_bytes"] = 4 * totals["params"]
    if prec is not None:
        from .memory import plan, schedule
        p = plan(graph, unfused, zero_copy, precision=prec, batch=batch)  # its buffers at their bits
        mb = unit_mac_bytes(p, bits, weight_bits)
        for r in rows:
            r["mac_bytes"] = mb.get(r["name"], 0)
        totals["mac_bytes"] = sum(mb.values())
        totals["peak_activation_bytes"] = schedule(p, "optimal").peak
