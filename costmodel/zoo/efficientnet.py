"""EfficientNet-B0..B7 (Tan & Le 2019, arXiv 1905.11946, Table 1 and section 3.3) and
EfficientNet-Lite0..4, from B0's official block strings (tensorflow/tpu
models/official/efficientnet/efficientnet_builder.py), parsed with MnasNet's decoder
(``costmodel.zoo.mnasnet``), and the compound coefficients of ``efficientnet_params`` /
``efficientnet_lite_params``.

Compound scaling (efficientnet_model.py): width ``round_filters(c)`` = make_divisible(c x w, 8)
(nearest multiple of 8, at least 8, +8 if that lost more than 10%) on the stem (32), every
string's i and o, and the head (1280); depth ``round_repeats(n)`` = ceil(d x n) per stage (the
spec's ``ceil`` depth rule); resolution r. A registry entry's alpha IS its width coefficient and
its depth its depth coefficient, so ``efficientnet_b0 --alpha 1.1 --depth-mult 1.2 --res 260`` builds
efficientnet_b2 (only the dropout rate, which costs nothing, is the entry's own), and
alpha x depth x rho compound scaling works from any entry.

MBConv (``MBConvBlock``): expansion 1x1 to round_filters(i) x e (omitted for e = 1) + BN + swish,
depthwise k x k / s + BN + swish, SE with squeeze max(1, int(round_filters(i) x 0.25)) of the
block's *input* width (swish inside, sigmoid gate, biased 1x1 convs), 1x1 projection + BN,
identity skip (drop-connect in training) when the strides are 1 and the input and output
channels are equal. Stem conv 3x3/2 + BN + swish; head conv 1x1 + BN + swish, global pool,
dropout, biased FC.

EfficientNet-Lite (efficientnet_lite_builder.py, lite/README.md): the same strings, ReLU6 instead
of swish, no SE, and ``fix_head_stem``: the stem (32) and head (1280) are not multiplied, and the
first and last stages keep their repeats (``fixed_depth`` rows).

Two readings of the head width (knob ``impl`` of efficientnet_b0, the base of compound scaling):
``tpu`` (official, default) round_filters(1280); ``torchvision``: 4 x the last block's width,
4 x round_filters(320). They agree for every published coefficient (B0..B7: the B1..B7 entries
have no knob, their two readings are the same network), and differ for some other alphas (1.03:
1320 versus 1312).
"""
from __future__ import annotations

from ..network import Knob, Network, register
from ..spec import NetSpec, blk
from . import mobilenet_v3  # noqa: F401  (registers the pwexpand block of the torchvision head)
from .mnasnet import mbconv_stages

SOURCE = ("arXiv 1905.11946 Table 1; tensorflow/tpu models/official/efficientnet (efficientnet_builder.py, "
          "efficientnet_model.py, lite/efficientnet_lite_builder.py)")

BLOCKS_ARGS = (  # efficientnet_builder.efficientnet() and efficientnet_lite_builder._DEFAULT_BLOCKS_ARGS
    "r1_k3_s11_e1_i32_o16_se0.25", "r2_k3_s22_e6_i16_o24_se0.25",
    "r2_k5_s22_e6_i24_o40_se0.25", "r3_k3_s22_e6_i40_o80_se0.25",
    "r3_k5_s11_e6_i80_o112_se0.25", "r4_k5_s22_e6_i112_o192_se0.25",
    "r1_k3_s11_e6_i192_o320_se0.25",
)
STEM, HEAD = 32, 1280

#: efficientnet_builder.efficientnet_params: (width_coefficient, depth_coefficient, resolution, dropout_rate)
PARAMS = {
    "efficientnet_b0": (1.0, 1.0, 224, 0.2),
    "efficientnet_b1": (1.0, 1.1, 240, 0.2),
    "efficientnet_b2": (1.1, 1.2, 260, 0.3),
    "efficientnet_b3": (1.2, 1.4, 300, 0.3),
    "efficientnet_b4": (1.4, 1.8, 380, 0.4),
    "efficientnet_b5": (1.6, 2.2, 456, 0.4),
    "efficientnet_b6": (1.8, 2.6, 528, 0.5),
    "efficientnet_b7": (2.0, 3.1, 600, 0.5),
}
#: efficientnet_lite_builder.efficientnet_lite_params (lite3/lite4 use lower resolutions than B3/B4)
LITE_PARAMS = {
    "efficientnet_lite0": (1.0, 1.0, 224, 0.2),
    "efficientnet_lite1": (1.0, 1.1, 240, 0.2),
    "efficientnet_lite2": (1.1, 1.2, 260, 0.3),
    "efficientnet_lite3": (1.2, 1.4, 280, 0.3),
    "efficientnet_lite4": (1.4, 1.8, 300, 0.3),
}
IMPLS = ("tpu", "torchvision")


def build_spec(name: str, width: float, depth: float, res: int, dropout: float, lite: bool = False,
               impl: str = "tpu") -> NetSpec:
    """The EfficientNet(-Lite) spec with the entry's coefficients as its defaults."""
    act = "relu6" if lite else "swish"
    scale = "fixed" if lite else "scaled"
    blocks = [blk("conv", c=STEM, k=3, s=2, act=act, width=scale, name="stem")]
    blocks += mbconv_stages(name, BLOCKS_ARGS, STEM, act=act, use_se=not lite, fixed_ends=lite)
    if impl == "torchvision":  # lastconv_output_channels = 4 * lastconv_input_channels
        blocks.append(blk("pwexpand", t=4, act=act, name="head"))
    else:
        blocks.append(blk("conv", c=HEAD, k=1, act=act, width=scale, name="head"))
    blocks += [blk("gap"), blk("dropout", p=dropout), blk("fc")]
    return NetSpec(name, tuple(blocks), width="divisible8", default_res=res, source=SOURCE, depth_rule="ceil",
                   default_alpha=width, default_depth=depth)


def _register(name: str, coefficients, lite: bool):
    width, depth, res, dropout = coefficients
    knobs = () if name != "efficientnet_b0" else (
        Knob("impl", "tpu", IMPLS, "head width: tpu = round_filters(1280) (official); torchvision = 4 x the last "
                                   "block's width; equal at B0..B7's coefficients, differ at some other alphas"),)

    def spec(alpha: float = width, impl: str = "tpu") -> NetSpec:
        return build_spec(name, width, depth, res, dropout, lite, impl)

    label = name.replace("efficientnet_", "EfficientNet-").replace("lite", "Lite").replace("-b", "-B")
    if lite:
        desc = f"{label}: ReLU6, no SE, stem/head and first/last stages fixed (w {width:g}, d {depth:g}, {res})"
    else:
        desc = f"{label}: compound scaling of B0 (w {width:g}, d {depth:g}, {res}), official block strings"
    register(Network(name, "EfficientNet-Lite" if lite else "EfficientNet", spec, desc, "arXiv 1905.11946",
                     knobs=knobs, default_res=res, default_alpha=width, default_depth=depth,
                     alpha_help="width coefficient (round_filters: make_divisible(c * alpha, 8))"))


for _name, _coef in PARAMS.items():
    _register(_name, _coef, lite=False)
for _name, _coef in LITE_PARAMS.items():
    _register(_name, _coef, lite=True)
