"""MCUNet / MCUNetV2 / TinyEngine (arXiv 2007.10319, 2110.15352; mit-han-lab/mcunet and tinyengine
READMEs): peak SRAM under the conventions the sources count by (in-place depthwise, in-place
residual add, patch-based inference, TFLite Micro's greedy arena), Flash, Mult-Adds and parameters
of the model zoo. The counting rules live with the memory model (``costmodel.mcunet``); this module
registers them, and the zoo's networks (built from the mcunet configs) as builders. Figures and
explanations: data/mcunet.csv; memory sizes there are in the sources' "kB" of 1024 bytes (KiB).
"""
from __future__ import annotations

from .. import mcunet
from .rules import register_builder, register_rule

TITLES = {}


def _rule(fn):
    return lambda t: fn(mcunet.build_network(t.network, dict(t.knobs)), dict(t.knobs))


_TEXT = {
    "mcunet_analytic": "MCUNet's analytic peak: input + output of each layer, the residual fused into the projection",
    "tinyengine_inplace_dw": "TinyEngine: MCUNet's analytic peak with in-place depthwise convs",
    "inplace_add_peak": "liveness peak with the residual add in place",
    "per_patch_peak": "MCUNetV2 patch-based peak (in-place depthwise, fused add; the image as its patch region)",
    "patch_overhead_madds": "Mult-Adds computed again by the patches' overlap",
    "per_layer_over_per_patch": "per-layer peak / per-patch peak",
    "first_conv_io": "input + output of the first layer",
    "tflm_greedy_arena": "TFLite Micro greedy arena (definition order, 16-byte aligned sizes)",
    "weight_bytes": "Flash bytes of the weights (integer weights, int32 biases, BN folded)",
}
for _name, _fn in mcunet.COUNTING_RULES.items():
    register_rule(_name, _TEXT[_name], _rule(_fn))
for _net in mcunet.nets():
    register_builder(_net, lambda _n=_net, **knobs: mcunet.build(_n, knobs.get("res")))
