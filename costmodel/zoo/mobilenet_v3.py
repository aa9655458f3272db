"""MobileNetV3 (Howard et al. 2019, arXiv 1905.02244v5), paper Tables 1 (Large) and 2 (Small),
and TF-slim's minimalistic variants (V3_LARGE_MINIMALISTIC / V3_SMALL_MINIMALISTIC: no SE, ReLU
everywhere, 3x3 kernels everywhere).

Each ``bneck`` row: 1x1 expansion to ``exp`` (omitted when exp equals the input width) + BN + NL,
depthwise k x k / s + BN + NL, SE (squeeze make_divisible(exp / 4, 8), ReLU inside, h-sigmoid
gate, biased 1x1 convs), 1x1 linear projection + BN, identity shortcut when s = 1 and in = out.
Head (section 5.1, "efficient last stage"): 1x1 conv to 6 x the last width + BN + NL, global
pool, 1x1 conv without BN (biased) to 1280 (Large) / 1024 (Small) + NL, dropout 0.2, biased
classifier (torchvision uses Linear layers for the last two: the same counts).

Width multiplier alpha, two official readings (knob ``rounding``):

* ``torchvision`` (default): every table width, the absolute expansion widths included, is
  ``make_divisible(c * alpha, 8)``; the last 1x1 conv before the pool is 6 x the rounded last
  block width; the 1280/1024 head conv is scaled too (``adjust_channels(last_channel)``).
* ``tfslim``: TF-slim's conv_defs give the expansion as a factor of the block's input
  (``expand_input_by_factor``): exp = make_divisible(C_in' x exp / C_in, 8) with C_in' the
  rounded input width; the 960/576 conv is make_divisible(960 alpha, 8); the 1280/1024 head conv
  keeps its width for every alpha (``finegrain_classification_mode``, with which the released
  checkpoints were built: their 0.75 rows, 155 M / 4.0 M and 44 M / 2.4 M, need it).

Both agree at alpha = 1. At alpha = 0.75 they differ (Large's second block expands to 48 in
torchvision, 64 in TF-slim; the head is 960 versus 1280); the published 0.75 figures (paper
Table 3 and TF-slim) follow ``tfslim``: see data/mobilenet_v3.csv.

Small's head is 1024 wide in the final arXiv version, torchvision and TF-slim's V3_SMALL (the
released checkpoints); an earlier arXiv version used 1280, and TF-slim's README prints parameter
counts that match it: knob ``head_width`` (1024 or 1280).

The ``_minimal`` networks exist only in TF-slim, so their default ``rounding`` is ``tfslim`` (the
only official rule for them); the full networks default to torchvision's.
"""
from typing import Optional

from ..graph import GraphBuilder
from ..network import Knob, Network, register
from ..spec import Context, NetSpec, blk, block_type

SOURCE = "arXiv 1905.02244v5 Tables 1 and 2; torchvision mobilenetv3.py; TF-slim mobilenet_v3.py"

# paper Table 1, MobileNetV3-Large: stem conv2d 3x3/2 16 HS, then the bneck rows
LARGE = (
    # k, exp, out,  SE,    NL,  s
    (3, 16, 16, False, "RE", 1),
    (3, 64, 24, False, "RE", 2),
    (3, 72, 24, False, "RE", 1),
    (5, 72, 40, True, "RE", 2),
    (5, 120, 40, True, "RE", 1),
    (5, 120, 40, True, "RE", 1),
    (3, 240, 80, False, "HS", 2),
    (3, 200, 80, False, "HS", 1),
    (3, 184, 80, False, "HS", 1),
    (3, 184, 80, False, "HS", 1),
    (3, 480, 112, True, "HS", 1),
    (3, 672, 112, True, "HS", 1),
    (5, 672, 160, True, "HS", 2),
    (5, 960, 160, True, "HS", 1),
    (5, 960, 160, True, "HS", 1),
)  # then conv2d 1x1 960 HS, pool 7x7, conv2d 1x1 NBN 1280 HS, conv2d 1x1 NBN k

# paper Table 2, MobileNetV3-Small
SMALL = (
    # k, exp, out,  SE,    NL,  s
    (3, 16, 16, True, "RE", 2),
    (3, 72, 24, False, "RE", 2),
    (3, 88, 24, False, "RE", 1),
    (5, 96, 40, True, "HS", 2),
    (5, 240, 40, True, "HS", 1),
    (5, 240, 40, True, "HS", 1),
    (5, 120, 48, True, "HS", 1),
    (5, 144, 48, True, "HS", 1),
    (5, 288, 96, True, "HS", 2),
    (5, 576, 96, True, "HS", 1),
    (5, 576, 96, True, "HS", 1),
)  # then conv2d 1x1 576 HS (the table's SE mark here is not in any official code), pool,
#    conv2d 1x1 NBN 1024 HS (1280 in an earlier arXiv version), conv2d 1x1 NBN k

STEM = 16
NL = {"RE": "relu", "HS": "hswish"}
ROUNDINGS = ("torchvision", "tfslim")


@block_type("pwexpand")
def pointwise_expand(g: GraphBuilder, x: str, ctx: Context, *, t: int = 6, act: Optional[str] = "hswish") -> str:
    """1x1 conv to t x the input channels + BN + act: torchvision MobileNetV3's last conv,
    lastconv_output_channels = 6 * lastconv_input_channels (exact for any alpha)."""
    return g.conv(x, int(t) * g.shape(x)[0], 1, act=act, name="")


def build_spec(name: str, rows, head_width: int, rounding: str = "torchvision", minimal: bool = False) -> NetSpec:
    """The block list of one MobileNetV3 (rows as in the paper's table)."""
    act = (lambda nl: "relu") if minimal else NL.get
    blocks = [blk("conv", c=STEM, k=3, s=2, act=act("HS"))]
    c_in = STEM
    for k, exp, out, se, nl, s in rows:
        k = 3 if minimal else k
        if rounding == "tfslim":
            width = dict(t=exp / c_in, t_round=8)
        else:
            width = dict(exp=exp)
        extra = dict(se=0.25, se_act="relu", se_gate="hsigmoid") if se and not minimal else {}
        blocks.append(blk("ir", c=out, k=k, s=s, act=act(nl), **width, **extra))
        c_in = out
    if rounding == "tfslim":  # TF-slim conv_defs: num_outputs=960 (576), scaled like every width
        last_conv = blk("conv", c=6 * c_in, k=1, act=act("HS"))
    else:  # torchvision: lastconv_output_channels = 6 * lastconv_input_channels
        last_conv = blk("pwexpand", t=6, act=act("HS"))
    blocks += [
        last_conv,
        blk("gap"),
        # NBN: torchvision scales it (adjust_channels); TF-slim's checkpoints keep it
        blk("conv", c=head_width, k=1, bn=False, bias=True, act=act("HS"),
            width="fixed" if rounding == "tfslim" else "scaled"),
        blk("dropout", p=0.2),
        blk("fc"),
    ]
    return NetSpec(name, tuple(blocks), width="divisible8", source=SOURCE)


def _rounding_knob(default="torchvision"):
    return Knob("rounding", default, ROUNDINGS,
                "alpha rule: torchvision = absolute expansion widths and the head scaled; tfslim = expansion "
                "factor of the rounded input, 1280/1024 head kept (TF-slim checkpoints); equal at alpha 1")


def _register(name, rows, head, minimal, description, head_choices=None):
    default_rounding = "tfslim" if minimal else "torchvision"  # minimalistic: TF-slim only
    knobs = [_rounding_knob(default_rounding)]
    if head_choices:
        knobs.append(Knob("head_width", head, head_choices,
                          "width of the last (NBN) 1x1 conv: 1024 = final arXiv v5 / torchvision, "
                          "1280 = an earlier arXiv version (TF-slim's README parameter counts match it)"))

    def spec(alpha: float = 1.0, rounding: str = default_rounding, head_width: int = head) -> NetSpec:
        return build_spec(name, rows, head_width, rounding, minimal)

    register(Network(name, "MobileNetV3", spec, description, "arXiv 1905.02244", knobs=tuple(knobs),
                     alpha_help="width multiplier (channels make_divisible(c * alpha, 8))"))


_register("mobilenet_v3_large", LARGE, 1280, False, "MobileNetV3-Large: Table 1 (h-swish, SE, NAS blocks)")
_register("mobilenet_v3_small", SMALL, 1024, False, "MobileNetV3-Small: Table 2, head 1024 (final version)",
          head_choices=(1024, 1280))
_register("mobilenet_v3_large_minimal", LARGE, 1280, True,
          "MobileNetV3-Large minimalistic (TF-slim): no SE, ReLU, 3x3 kernels")
_register("mobilenet_v3_small_minimal", SMALL, 1024, True,
          "MobileNetV3-Small minimalistic (TF-slim): no SE, ReLU, 3x3 kernels", head_choices=(1024, 1280))
