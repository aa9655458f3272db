"""MobileNetV2 (Sandler et al. 2018, arXiv 1801.04381v4), paper Table 2, with the official
width rule: channels ``make_divisible(c * alpha, 8)`` (TF-slim and torchvision), expansion
t x the (rounded) input width, no expansion conv in the t = 1 block, and the last 1x1 conv
(1280) widened only for alpha > 1.
"""
from ..registry import Network, register
from ..spec import NetSpec, blk

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


def spec(alpha: float = 1.0) -> NetSpec:
    return NetSpec("mobilenet_v2", BLOCKS, width="divisible8", source=SOURCE)


register(Network(
    "mobilenet_v2", "MobileNetV2", spec,
    "MobileNetV2: inverted residuals and linear bottlenecks, Table 2", "arXiv 1801.04381",
))
