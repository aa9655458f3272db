"""MobileNetV1 (Howard et al. 2017, arXiv 1704.04861), paper Table 1, with the TF-slim width rule
``max(int(c * alpha), 8)`` applied to every layer but the classifier.

Variants (``--variant``): ``standard``; ``conv`` (Table 4: every depthwise separable layer
replaced by a full 3x3 convolution with the same stride and output channels); ``shallow``
(Table 5: the five 14x14x512 separable layers removed).

MobileNetV2 paper section 6 heads (``heads.py``): ``--head ssd|ssdlite`` reads ``Conv2d_11_pointwise``
(512 ch, output stride 16) and ``Conv2d_13_pointwise`` (1024, 32) as the TF object detection
API's ssd_mobilenet_v1 does; ``--head deeplabv3`` reads ``Conv2d_13_pointwise`` at
``--output-stride 8|16``.
"""
from dataclasses import replace

from ..errors import KnobError
from ..network import Knob, Network, register
from ..spec import NetSpec, blk
from . import heads

SOURCE = "arXiv 1704.04861 Table 1; TF-slim mobilenet_v1.py"

# paper Table 1: conv s2 3x3x3x32, then (depthwise stride, pointwise output channels)
STEM = (blk("conv", c=32, k=3, s=2),)
BODY = (
    #        c,     s
    blk("dwsep", c=64, s=1),
    blk("dwsep", c=128, s=2),
    blk("dwsep", c=128, s=1),
    blk("dwsep", c=256, s=2),
    blk("dwsep", c=256, s=1),
    blk("dwsep", c=512, s=2),
    blk("dwsep", c=512, s=1, n=5),  # the five 14x14x512 layers (removed by 'shallow')
    blk("dwsep", c=1024, s=2),
    blk("dwsep", c=1024, s=1),      # the paper prints s2 here; the output stays 7x7
)
HEAD = (blk("gap"), blk("dropout", p=0.001), blk("fc"))  # avg pool, FC 1024 x classes (biased)


def _full_conv(b):
    """Table 4's 'Conv MobileNet': a dwsep layer becomes a 3x3 conv with the same s and c."""
    return blk("conv", n=b.repeat, c=b.args["c"], k=3, s=b.args["s"])


def spec(alpha: float = 1.0, variant: str = "standard", head: str = "none", output_stride="auto", aspp="auto",
         head_classes: int = 0) -> NetSpec:
    k = heads.derive(dict(head=head, output_stride=output_stride, aspp=aspp, head_classes=head_classes))
    head, os_ = k["head"], k["output_stride"]
    body = BODY
    if variant == "shallow":
        body = tuple(b for b in BODY if b.repeat != 5)
    elif variant == "conv":
        body = tuple(_full_conv(b) for b in BODY)
    if head == "none":
        blocks = STEM + body + HEAD if os_ == 32 else heads.atrous(STEM + body, os_) + HEAD
        return NetSpec("mobilenet_v1", blocks, width="floor_min8", source=SOURCE)
    if head == "deeplabv3":
        blocks = heads.deeplab_blocks(STEM + body, k)
    else:  # TF OD API ssd_mobilenet_v1: from_layer Conv2d_11_pointwise, Conv2d_13_pointwise
        if variant == "shallow":
            raise KnobError(f"--head {head} reads Conv2d_11, which --variant shallow removes; "
                            f"use --variant standard or conv")
        named = tuple(replace(b, name="conv11") if b.repeat == 5 else b for b in body[:-1])
        blocks = STEM + named + (replace(body[-1], name="conv13"), heads.ssd_block(("conv11", "conv13"), k))
    return NetSpec(f"mobilenet_v1_{head}", blocks, width="floor_min8", default_res=heads.HEAD_RES[head],
                   source=SOURCE + "; " + heads.SOURCE)


register(Network(
    "mobilenet_v1", "MobileNetV1", spec,
    "MobileNetV1: depthwise separable convs, Table 1", "arXiv 1704.04861",
    knobs=(Knob("variant", "standard", ("standard", "conv", "shallow"),
                "standard; conv = Table 4 full convolutions; shallow = Table 5 without the 5 x 14x14x512 layers"),)
    + heads.HEAD_KNOBS, derive=heads.derive, res_for=heads.head_res,
))
