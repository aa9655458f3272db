"""MobileNetV4 (Qin et al. 2024, arXiv 2404.10518): Conv-S, Conv-M, Conv-L, Hybrid-M, Hybrid-L.

The block lists are the official TensorFlow specs (tensorflow/models
official/vision/modeling/backbones/mobilenet.py: ``MNV4ConvSmall_BLOCK_SPECS``,
``_mnv4_conv_medium_block_specs``, ``MNV4ConvLarge_BLOCK_SPECS``, ``_mnv4_hybrid_medium_block_specs``,
``_mnv4_hybrid_large_block_specs``), row for row; timm's ``_gen_mobilenet_v4`` arch strings
(timm/models/mobilenetv3.py) give the same layers. Notation: ``uib(start_k, mid_k, s, c, e)``
(``costmodel.zoo.uib``; kernel 0 = no such depthwise), ``fused_ib(k, s, c, e)``, ``conv(k, s, c)``
(conv + BN + act), ``mqa(...)`` the Mobile MQA block (``costmodel.zoo.mqa``). Consecutive equal
rows are written once with ``n`` (timm's ``r``); each row is one searched layer, so these specs
have no depth multiplier (no official implementation scales them).

Head of all five: conv 1x1 960 + BN + act, global pool, conv 1x1 1280 (no bias) + BN + act,
classifier (Linear with bias). Activation ReLU, except Hybrid-L: GELU everywhere (the attention
blocks have none). The Hybrid models add layer scale (a learned per-channel gamma) to every UIB and
attention block.

Width multiplier alpha (knob ``rounding``), two official readings, equal at alpha = 1:

* ``timm`` (default; timm's ``round_chs_fn``): every block width make_divisible(c alpha, 8), the
  960 conv included; the stem keeps 32/24 channels for alpha < 1 (``fix_stem``) and grows for
  alpha > 1; the 1280 head conv never scales (``num_features``).
* ``tf`` (``block_spec_decoder``): every spec's filters round_filters(c alpha, 8, min 8) =
  make_divisible, the stem included; the last conv (1280) keeps its width for alpha < 1
  (``finegrain_classification_mode``) and grows for alpha > 1.

UIB expansion widths are make_divisible(C_in e, 8) of the block's actual input in both; the
attention blocks' heads, key and value dims are not scaled (both).

Native resolutions (paper section 5 / Table 1): Conv-S 224, Conv-M 256, Conv-L 384, Hybrid-M
256, Hybrid-L 384; ``default_res`` is the native one.
"""
from ..network import Knob, Network, register
from ..spec import NetSpec, blk
from . import uib  # noqa: F401  (registers the uib and fused_ib block types)

SOURCE = ("arXiv 2404.10518; tensorflow/models official/vision/modeling/backbones/mobilenet.py (MNv4 block specs); "
          "timm mobilenetv3.py _gen_mobilenet_v4")
ROUNDINGS = ("timm", "tf")


def conv(k, s, c, **kw):
    return blk("conv", c=c, k=k, s=s, **kw)


def ib(start_k, mid_k, s, c, e, n=None):
    return blk("uib", start_k=start_k, mid_k=mid_k, s=s, c=c, e=e, n=n)


def fused_ib(k, s, c, e):
    return blk("fused_ib", k=k, s=s, c=c, e=e)


# tensorflow/models MNV4ConvSmall_BLOCK_SPECS (stem first)
CONV_S = (
    conv(3, 2, 32),                                              # 112px
    conv(3, 2, 32), conv(1, 1, 32),                              # 56px
    conv(3, 2, 96), conv(1, 1, 64),                              # 28px
    ib(5, 5, 2, 96, 3.0), ib(0, 3, 1, 96, 2.0, n=4),             # 14px  ExtraDW, 4 x IB
    ib(3, 0, 1, 96, 4.0),                                        #       ConvNext
    ib(3, 3, 2, 128, 6.0), ib(5, 5, 1, 128, 4.0),                # 7px   ExtraDW x 2
    ib(0, 5, 1, 128, 4.0), ib(0, 5, 1, 128, 3.0), ib(0, 3, 1, 128, 4.0, n=2),   # IB
)

# _mnv4_conv_medium_block_specs
CONV_M = (
    conv(3, 2, 32),
    fused_ib(3, 2, 48, 4.0),
    ib(3, 5, 2, 80, 4.0), ib(3, 3, 1, 80, 2.0),
    ib(3, 5, 2, 160, 6.0), ib(3, 3, 1, 160, 4.0, n=2), ib(3, 5, 1, 160, 4.0), ib(3, 3, 1, 160, 4.0),
    ib(3, 0, 1, 160, 4.0), ib(0, 0, 1, 160, 2.0), ib(3, 0, 1, 160, 4.0),
    ib(5, 5, 2, 256, 6.0), ib(5, 5, 1, 256, 4.0), ib(3, 5, 1, 256, 4.0, n=2), ib(0, 0, 1, 256, 4.0),
    ib(3, 0, 1, 256, 4.0), ib(3, 5, 1, 256, 2.0), ib(5, 5, 1, 256, 4.0), ib(0, 0, 1, 256, 4.0, n=2),
    ib(5, 0, 1, 256, 2.0),
)

# MNV4ConvLarge_BLOCK_SPECS (every UIB expands 4x)
CONV_L = (
    conv(3, 2, 24),
    fused_ib(3, 2, 48, 4.0),
    ib(3, 5, 2, 96, 4.0), ib(3, 3, 1, 96, 4.0),
    ib(3, 5, 2, 192, 4.0), ib(3, 3, 1, 192, 4.0, n=3), ib(3, 5, 1, 192, 4.0), ib(5, 3, 1, 192, 4.0, n=5),
    ib(3, 0, 1, 192, 4.0),
    ib(5, 5, 2, 512, 4.0), ib(5, 5, 1, 512, 4.0, n=3), ib(5, 0, 1, 512, 4.0), ib(5, 3, 1, 512, 4.0),
    ib(5, 0, 1, 512, 4.0, n=2), ib(5, 3, 1, 512, 4.0), ib(5, 5, 1, 512, 4.0), ib(5, 0, 1, 512, 4.0, n=3),
)


def mqa(c, heads, dim, kv_stride):
    return blk("mqa", c=c, heads=heads, key_dim=dim, value_dim=dim, kv_stride=kv_stride)


# _mnv4_hybrid_medium_block_specs: mhsa_24px = mqa(160, 4 heads, 64, kv /2), mhsa_12px = mqa(256, 4, 64, kv /1)
M24, M12 = mqa(160, 4, 64, 2), mqa(256, 4, 64, 1)
HYBRID_M = (
    conv(3, 2, 32),
    fused_ib(3, 2, 48, 4.0),
    ib(3, 5, 2, 80, 4.0), ib(3, 3, 1, 80, 2.0),
    ib(3, 5, 2, 160, 6.0), ib(0, 0, 1, 160, 2.0), ib(3, 3, 1, 160, 4.0), ib(3, 5, 1, 160, 4.0),
    M24, ib(3, 3, 1, 160, 4.0), M24, ib(3, 0, 1, 160, 4.0), M24, ib(3, 3, 1, 160, 4.0), M24, ib(3, 0, 1, 160, 4.0),
    ib(5, 5, 2, 256, 6.0), ib(5, 5, 1, 256, 4.0), ib(3, 5, 1, 256, 4.0, n=2), ib(0, 0, 1, 256, 2.0),
    ib(3, 5, 1, 256, 2.0), ib(0, 0, 1, 256, 2.0), ib(0, 0, 1, 256, 4.0),
    M12, ib(3, 0, 1, 256, 4.0), M12, ib(5, 5, 1, 256, 4.0), M12, ib(5, 0, 1, 256, 4.0), M12, ib(5, 0, 1, 256, 4.0),
)

# _mnv4_hybrid_large_block_specs (GELU; every UIB expands 4x): mhsa_24px = mqa(192, 8, 48, kv /2),
# mhsa_12px = mqa(512, 8, 64, kv /1)
L24, L12 = mqa(192, 8, 48, 2), mqa(512, 8, 64, 1)
HYBRID_L = (
    conv(3, 2, 24),
    fused_ib(3, 2, 48, 4.0),
    ib(3, 5, 2, 96, 4.0), ib(3, 3, 1, 96, 4.0),
    ib(3, 5, 2, 192, 4.0), ib(3, 3, 1, 192, 4.0, n=3), ib(3, 5, 1, 192, 4.0), ib(5, 3, 1, 192, 4.0, n=2),
    L24, ib(5, 3, 1, 192, 4.0), L24, ib(5, 3, 1, 192, 4.0), L24, ib(5, 3, 1, 192, 4.0), L24, ib(3, 0, 1, 192, 4.0),
    ib(5, 5, 2, 512, 4.0), ib(5, 5, 1, 512, 4.0, n=3), ib(5, 0, 1, 512, 4.0), ib(5, 3, 1, 512, 4.0),
    ib(5, 0, 1, 512, 4.0, n=2), ib(5, 3, 1, 512, 4.0), ib(5, 5, 1, 512, 4.0),
    L12, ib(5, 0, 1, 512, 4.0), L12, ib(5, 0, 1, 512, 4.0), L12, ib(5, 0, 1, 512, 4.0), L12, ib(5, 0, 1, 512, 4.0),
)


def head(rounding: str, act: str = "relu"):
    """conv 1x1 960 + BN + act, global pool, conv 1x1 1280 + BN + act (no bias), classifier."""
    return (blk("conv", c=960, k=1, act=act), blk("gap"),
            blk("conv", c=1280, k=1, act=act, width="fixed" if rounding == "timm" else "grow"),
            blk("fc"))


def build_spec(name: str, rows, rounding: str = "timm", act: str = "relu", default_res: int = 224,
               layer_scale: bool = False) -> NetSpec:
    """The spec of one MobileNetV4: stem width rule and activation per ``rounding`` and ``act``."""
    stem, body = rows[0], rows[1:]
    stem = blk("conv", **dict(stem.args, act=act, width="grow" if rounding == "timm" else "scaled"))
    blocks = [stem]
    for b in body:
        extra = {}
        if b.type in ("uib", "conv", "fused_ib"):
            extra["act"] = act
        if layer_scale and b.type in ("uib", "mqa"):
            extra["layer_scale"] = True
        blocks.append(blk(b.type, n=b.repeat, **dict(b.args, **extra)))
    blocks += head(rounding, act)
    return NetSpec(name, tuple(blocks), width="divisible8", default_res=default_res, source=SOURCE)


def _rounding_knob():
    return Knob("rounding", "timm", ROUNDINGS,
                "alpha rule: timm = stem fixed below alpha 1, 1280 head never scaled; tf = stem scaled, 1280 head "
                "grows above alpha 1 (finegrain); both make_divisible(c alpha, 8) elsewhere; equal at alpha 1")


def _register(name, rows, res, description, act="relu", layer_scale=False):
    def spec(alpha: float = 1.0, rounding: str = "timm") -> NetSpec:
        return build_spec(name, rows, rounding, act, res, layer_scale)

    register(Network(name, "MobileNetV4", spec, description, "arXiv 2404.10518", knobs=(_rounding_knob(),),
                     default_res=res, alpha_help="width multiplier (channels make_divisible(c * alpha, 8))"))


_register("mobilenet_v4_conv_small", CONV_S, 224, "MobileNetV4-Conv-S: UIB blocks (ExtraDW, IB, ConvNext), 224")
_register("mobilenet_v4_conv_medium", CONV_M, 256, "MobileNetV4-Conv-M: fused IB stem, UIB blocks (incl. FFN), 256")
_register("mobilenet_v4_conv_large", CONV_L, 384, "MobileNetV4-Conv-L: fused IB stem, UIB blocks, 384")
_register("mobilenet_v4_hybrid_medium", HYBRID_M, 256, "MobileNetV4-Hybrid-M: Conv-M-like with 8 Mobile MQA blocks, "
          "layer scale, 256", layer_scale=True)
_register("mobilenet_v4_hybrid_large", HYBRID_L, 384, "MobileNetV4-Hybrid-L: GELU, 8 Mobile MQA blocks, layer scale, "
          "384", act="gelu", layer_scale=True)
