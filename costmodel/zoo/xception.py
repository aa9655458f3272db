"""Xception (Chollet 2017, arXiv 1610.02357, Fig. 5) as Keras ``applications/xception.py`` builds it.

SepConv = depthwise 3x3 (pad same) + pointwise 1x1, no activation in between, no biases, BN after
each SepConv. The first two convs are 3x3 with valid padding (299 -> 149 -> 147); every other conv
and every max pool (3x3/2) pads 'same' as TensorFlow does (147 -> 74 -> 37 -> 19 -> 10).
Residual shortcuts of the downsampling blocks are 1x1/2 convs + BN; the middle flow's are
identities. Head: global average pool, FC to the classes (biased).

Parameters: the paper's 22,855,952 (Table 3) is Keras's *trainable* count, i.e. conv and FC
weights, the FC bias and BN gamma/beta = ``params_with_bn``; Keras's total 22,910,480 adds the
BN moving mean and variance (= ``params_with_bn + 2 * bn_channels``).
"""
from typing import Optional

from ..graph import GraphBuilder
from ..ops import MaxPool
from ..network import Network, register
from ..spec import Context, NetSpec, blk, block_type

SOURCE = "arXiv 1610.02357 Fig. 5 and Table 3; Keras applications/xception.py"


def sepconv(g: GraphBuilder, x: str, c: int, *, relu_before: bool, name: str) -> str:
    """[ReLU] SepConv(c) + BN: depthwise 3x3 (9 C_in weights) + pointwise (C_in * c weights)."""
    if relu_before:
        x = g.act(x, "relu", f"{name}_act")
    c_in = g.shape(x)[0]
    y = g.conv(x, c_in, 3, groups=c_in, bn=False, bias=False, name=f"{name}.dw")
    return g.conv(y, c, 1, bn=True, name=f"{name}.pw")


@block_type("xception_down")
def xception_down(g: GraphBuilder, x: str, ctx: Context, *, c1: int, c2: int, relu_first: bool = True) -> str:
    """Downsampling residual block of the entry flow (and the exit flow's first block):
    [ReLU] SepConv c1 + BN, ReLU, SepConv c2 + BN, maxpool 3x3/2 (same), plus a 1x1/2 conv c2 + BN
    shortcut on the block input."""
    y = sepconv(g, x, ctx.ch(c1), relu_before=relu_first, name="sepconv1")
    y = sepconv(g, y, ctx.ch(c2), relu_before=True, name="sepconv2")
    y = g.add(MaxPool(3, 2, "same"), y, "pool")
    short = g.conv(x, ctx.ch(c2), 1, 2, padding="same", name="residual")
    return g.add_tensors([y, short], "add")


@block_type("xception_middle")
def xception_middle(g: GraphBuilder, x: str, ctx: Context, *, c: int = 728) -> str:
    """Middle flow block: 3 x (ReLU, SepConv c + BN) with an identity shortcut."""
    y = x
    for i in (1, 2, 3):
        y = sepconv(g, y, ctx.ch(c), relu_before=True, name=f"sepconv{i}")
    return g.add_tensors([y, x], "add")


@block_type("xception_exit")
def xception_exit(g: GraphBuilder, x: str, ctx: Context, *, c1: int = 1536, c2: int = 2048,
                  act: Optional[str] = "relu") -> str:
    """Exit flow tail: SepConv c1 + BN + ReLU, SepConv c2 + BN + ReLU."""
    y = sepconv(g, x, ctx.ch(c1), relu_before=False, name="sepconv1")
    y = g.act(y, act, "sepconv1_act")
    y = sepconv(g, y, ctx.ch(c2), relu_before=False, name="sepconv2")
    return g.act(y, act, "sepconv2_act")


# paper Fig. 5 (output sizes at 299x299), Keras layer names
BLOCKS = (
    # entry flow
    blk("conv", name="block1_conv1", c=32, k=3, s=2, padding="valid"),   # 149x149x32
    blk("conv", name="block1_conv2", c=64, k=3, padding="valid"),        # 147x147x64
    blk("xception_down", name="block2", c1=128, c2=128, relu_first=False),  # 74x74x128
    blk("xception_down", name="block3", c1=256, c2=256),                 # 37x37x256
    blk("xception_down", name="block4", c1=728, c2=728),                 # 19x19x728
    # middle flow, repeated eight times (Keras block5 ... block12)
    blk("xception_middle", n=8, name="middle", c=728),                  # 19x19x728
    # exit flow
    blk("xception_down", name="block13", c1=728, c2=1024),               # 10x10x1024
    blk("xception_exit", name="block14", c1=1536, c2=2048),              # 10x10x2048
    blk("gap", name="avg_pool"),
    blk("fc", name="predictions"),                                        # 2048 x classes, biased
)


def spec(alpha: float = 1.0) -> NetSpec:
    return NetSpec("xception", BLOCKS, width="unscaled", default_res=299, source=SOURCE)


register(Network(
    "xception", "Xception", spec,
    "Xception: entry/middle/exit flows of depthwise separable convs, Fig. 5 (299x299)", "arXiv 1610.02357",
    default_res=299, min_res=71, alphas=(1.0,), alpha_help="not defined (1.0 only)",
))
