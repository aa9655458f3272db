"""MCUNet / MCUNetV2 / TinyEngine figures: the networks of the mcunet model zoo and the counting
rules their memory figures follow (docs/memory.md, "MCUNet figures"; data/mcunet.csv).

**Networks.** MCUNet's searched networks (and its MobileNetV2-w0.35) exist only as the mcunet
repository's configs (mit-han-lab/tinyml ``mcunet/assets/configs/*.json``); ``data/mcunet_nets.csv``
transcribes each config as a block string (conv stem, inverted residual blocks with their kernel,
stride, expansion ratio and width, the classifier), ``build(net_id)`` makes the graph.

**Counting rules** (``COUNTING_RULES``; each is ``rule(graph, knobs) -> exact value``, the value of
the ``counted_as`` column of data/mcunet.csv; knobs come from its ``knobs`` column, ``bits`` the
activation and weight bits, 32 by default):

* ``mcunet_analytic``: MCUNet's analytic peak activation size ("theoretical peak activation size
  (Act) by summing input and output activation"; the mcunet code's ``count_peak_activation_size``):
  the optimal-schedule liveness peak with ``fused-add`` (a block's projection conv writes over the
  residual it is added to, so the residual is counted beside the depthwise conv but not beside the
  projection; every other conv counts its input plus its output, the input image included).
* ``tinyengine_inplace_dw``: the same with ``dw`` too (TinyEngine's in-place depthwise conv: the
  depthwise conv needs max(input, output) instead of their sum).
* ``inplace_add_peak``: the liveness peak with ``add`` in place (a residual add writes over one input).
* ``per_patch_peak``: the patch-based peak (``costmodel.memory_patches``) with ``dw`` and ``fused-add``,
  grid ``patches`` and split ``split`` (the input image counted as its patch region).
* ``per_layer_over_per_patch``: ``tinyengine_inplace_dw`` / ``per_patch_peak``.
* ``patch_overhead_madds``: the Mult-Adds computed again by the patches' overlap.
* ``first_conv_io``: input + output of the first layer.
* ``tflm_greedy_arena``: TFLite Micro's greedy arena over the definition order, sizes rounded up to
  16 bytes, no in-place kernel.
* ``weight_bytes``: Flash bytes of the parameters at ``bits`` (``costmodel.precision``); Mult-Adds and
  parameters are the generic rules of ``costmodel.reproduce.rules`` on the same graphs.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Dict

from .errors import KnobError
from .graph import Graph

NETS_FILE = "mcunet_nets.csv"
FIGURES_FILE = "mcunet.csv"


def nets() -> Dict[str, dict]:
    """net_id -> the row of data/mcunet_nets.csv (config, blocks, source)."""
    from .datafiles import read_csv
    return {r["net_id"]: r for r in read_csv(NETS_FILE)}


def build(net_id: str, res=None) -> Graph:
    """The graph of an mcunet model-zoo network (``nets()``), at its config's resolution or ``res``."""
    from .sources import load
    table = nets()
    if net_id not in table:
        raise KnobError(f"unknown mcunet network {net_id!r}; accepted: {', '.join(table)}")
    g = load(table[net_id]["blocks"], res=res)
    return replace(g, name=net_id, meta={**g.meta, "network": net_id})


def build_network(network: str, knobs: Dict[str, str]) -> Graph:
    """The graph a figure is counted on: an mcunet model-zoo id (``nets()``) or a registry network
    with the knobs alpha, res and the registry's own knobs (bits, patches, split and the like are
    counting knobs, not network knobs)."""
    res = int(knobs["res"]) if "res" in knobs else None
    if network in nets():
        return build(network, res)
    from .registry import build as reg_build
    kw = {k: v for k, v in knobs.items() if k not in COUNTING_KNOBS + ("alpha", "res")}
    return reg_build(network, alpha=float(knobs.get("alpha", 1.0)) if "alpha" in knobs else None, res=res, **kw)


#: knobs read by the counting rules rather than by the network builder
COUNTING_KNOBS = ("bits", "patches", "split")


def _bits(knobs) -> int:
    return int(knobs.get("bits", 32))


def _with_bits(graph: Graph, knobs):
    """(graph, bits for the memory functions): 8/16/32 directly; other widths (4) as a precision spec."""
    from .memory_plan import BITS
    from .precision import with_precision
    b = _bits(knobs)
    if b in BITS:
        return graph, b
    return with_precision(graph, {"act": b, "weight": b}), 32


def _peak(graph: Graph, knobs, inplace, schedule_name: str = "optimal") -> int:
    from .memory_liveness import schedule
    from .precision import graph_precision
    g, b = _with_bits(graph, knobs)
    s = schedule(g, schedule_name, inplace=inplace, precision=graph_precision(g))
    return s.plan.nbytes(s.peak, b)


def mcunet_analytic(graph: Graph, knobs) -> int:
    return _peak(graph, knobs, "fused-add")


def tinyengine_inplace_dw(graph: Graph, knobs) -> int:
    return _peak(graph, knobs, "dw,fused-add")


def inplace_add_peak(graph: Graph, knobs) -> int:
    return _peak(graph, knobs, "add")


def _patches(graph: Graph, knobs) -> dict:
    from .memory_patches import patch_schedule
    from .precision import graph_precision
    g, b = _with_bits(graph, knobs)
    return patch_schedule(g, knobs.get("patches", "4x4"), knobs.get("split", "auto"), bits=b, inplace="dw,fused-add",
                          precision=graph_precision(g))


def per_patch_peak(graph: Graph, knobs) -> int:
    return _patches(graph, knobs)["peak_bytes"]


def patch_overhead_madds(graph: Graph, knobs) -> int:
    return _patches(graph, knobs)["overhead_madds"]


def per_layer_over_per_patch(graph: Graph, knobs) -> float:
    return tinyengine_inplace_dw(graph, knobs) / per_patch_peak(graph, knobs)


def first_conv_io(graph: Graph, knobs) -> int:
    from .memory_plan import plan
    g, b = _with_bits(graph, knobs)
    from .precision import graph_precision
    p = plan(g, precision=graph_precision(g))
    u = p.units[0]
    return p.nbytes(sum(p.sizes[i] for i in u.reads + u.writes), b)


def tflm_greedy_arena(graph: Graph, knobs) -> int:
    from .memory_arena import plan_arena
    from .memory_liveness import schedule
    from .precision import graph_precision
    g, b = _with_bits(graph, knobs)
    return plan_arena(schedule(g, "sequential", precision=graph_precision(g)), "greedy", b, 16).arena_bytes


def weight_bytes(graph: Graph, knobs) -> int:
    from .precision import weight_bytes as wb
    return wb(graph, _bits(knobs))


#: the rules of data/mcunet.csv beyond the generic ones (``costmodel.reproduce.rules``: madds,
#: params, params_with_bn count the same graphs), registered by ``costmodel.reproduce.mcunet``
COUNTING_RULES: Dict[str, Callable] = {f.__name__: f for f in (
    mcunet_analytic, tinyengine_inplace_dw, inplace_add_peak, per_patch_peak, patch_overhead_madds,
    per_layer_over_per_patch, first_conv_io, tflm_greedy_arena, weight_bytes)}
