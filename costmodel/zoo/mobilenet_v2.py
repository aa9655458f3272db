"""MobileNetV2 (Sandler et al. 2018, arXiv 1801.04381v4), paper Table 2, with the official
width rule: channels ``make_divisible(c * alpha, 8)`` (TF-slim and torchvision), expansion
t x the (rounded) input width, no expansion conv in the t = 1 block, and the last 1x1 conv
(1280) widened only for alpha > 1.

Section 6 heads (``heads.py``): ``--head ssd|ssdlite`` reads ``layer_15/expansion_output`` (the
expansion of the first 160-wide bottleneck, 576 ch at output stride 16) and ``layer_19`` (the
1280 conv); ``--head deeplabv3`` reads the 1280 conv, or with ``--set feature=second_last`` the
320-wide ``layer_18`` (the paper's MNet V2*, without the 1280 conv), at ``--output-stride 8|16``.
"""
from dataclasses import replace

from ..network import Network, register
from ..spec import NetSpec, blk
from . import heads

SOURCE = "arXiv 1801.04381v4 Table 2; TF-slim mobilenet_v2.py; torchvision mobilenetv2.py"

BLOCKS = (
    blk("conv", c=32, k=3, s=2, act="relu6"),            # 224x224x3   conv2d 3x3
    #        t,  c,      n,  s                              (paper Table 2)
    blk("ir", t=1, c=16, n=1, s=1),                      # 112x112x32
    blk("ir", t=6, c=24, n=2, s=2),                      # 112x112x16
    blk("ir", t=6, c=32, n=3, s=2),                      # 56x56x24
    blk("ir", t=6, c=64, n=4, s=2),                      # 28x28x32
    blk("ir", t=6, c=96, n=3, s=1),                      # 14x14x64
    blk("ir", t=6, c=160, n=3, s=2),                     # 14x14x96
    blk("ir", t=6, c=320, n=1, s=1),                     # 7x7x160
    blk("conv", c=1280, k=1, act="relu6", width="grow"),  # 7x7x320     conv2d 1x1
    blk("gap"),                                          # 7x7x1280    avgpool 7x7
    blk("dropout", p=0.2),
    blk("fc"),                                           # 1x1x1280    conv2d 1x1 -> k (biased)
)
BACKBONE, CLASSIFIER = BLOCKS[:9], BLOCKS[9:]


def spec(alpha: float = 1.0, head: str = "none", output_stride="auto", aspp="auto", head_classes: int = 0,
         feature: str = "last") -> NetSpec:
    k = heads.derive(dict(head=head, output_stride=output_stride, aspp=aspp, head_classes=head_classes,
                          feature=feature))
    head, os_ = k["head"], k["output_stride"]
    if head == "none":
        blocks = BLOCKS if os_ == 32 else heads.atrous(BACKBONE, os_) + CLASSIFIER
        return NetSpec("mobilenet_v2", blocks, width="divisible8", source=SOURCE, depth_rule="ceil")
    if head == "deeplabv3":
        backbone = BACKBONE if k["feature"] == "last" else BACKBONE[:-1]
        blocks = heads.deeplab_blocks(backbone, k)
    else:  # TF OD API ssd_mobilenet_v2: from_layer layer_15/expansion_output, layer_19
        blocks = (BACKBONE[:6] + heads.split_expansion(BACKBONE[6], "layer_15_expansion")
                  + (BACKBONE[7], replace(BACKBONE[8], name="layer_19"))
                  + (heads.ssd_block(("layer_15_expansion", "layer_19"), k),))
    return NetSpec(f"mobilenet_v2_{head}", blocks, width="divisible8", default_res=heads.HEAD_RES[head],
                   source=SOURCE + "; " + heads.SOURCE)


register(Network(
    "mobilenet_v2", "MobileNetV2", spec,
    "MobileNetV2: inverted residuals and linear bottlenecks, Table 2", "arXiv 1801.04381",
    knobs=heads.HEAD_KNOBS + (heads.FEATURE_KNOB,), derive=heads.derive, res_for=heads.head_res,
))
