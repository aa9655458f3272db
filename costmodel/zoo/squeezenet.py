"""SqueezeNet (Iandola et al. 2016, arXiv 1602.07360), paper Table 1, and v1.1 (forresti/SqueezeNet
README), as the Caffe reference and torchvision ``squeezenet.py`` build them.

Fire module (paper section 3.2, Fig. 1): squeeze 1x1 (s1x1 filters) + ReLU, then expand 1x1 (e1x1)
and expand 3x3 (e3x3, pad 1), each + ReLU, concatenated. Every conv has a bias, no BatchNorm.
Parameters of a fire module with C_in inputs: (C_in + 1) s1x1 + (s1x1 + 1) e1x1 + (9 s1x1 + 1) e3x3.

Resolution: Table 1 prints a 224x224 input but 111x111 after conv1 (7x7/2, no padding); that size
needs the 227x227 crop of the Caffe reference ((227 - 7) / 2 + 1 = 111), so 227 is the default
(224 gives 109x109). Max pools are 3x3/2 with ceil rounding, as Caffe and torchvision
(``ceil_mode=True``). conv10 (1x1 to the classes, biased) + ReLU, then global average pooling
(Table 1's 13x13/1 avgpool10 at 227). Dropout 0.5 before conv10.

v1.1: conv1 is 64 filters 3x3/2 and the pools follow conv1, fire3 and fire5 instead of conv1,
fire4 and fire8.

Bypass (paper section 6, Fig. 2; ``--bypass``): ``simple`` adds identity shortcuts around fire3,
5, 7 and 9 (the modules whose input and output widths are equal); ``complex`` also adds a 1x1 conv
shortcut (biased, as Caffe's default, no activation) around fire2, 4, 6 and 8. The shortcut is
summed with the fire module's output (after its ReLUs).
"""
from ..errors import SpecError
from ..graph import GraphBuilder
from ..ops import Conv2d
from ..network import Knob, Network, register
from ..spec import Context, NetSpec, blk, block_type

SOURCE = "arXiv 1602.07360 Table 1 and section 6; forresti/SqueezeNet v1.0/v1.1; torchvision squeezenet.py"
BYPASSES = ("none", "simple", "complex")


@block_type("fire")
def fire(g: GraphBuilder, x: str, ctx: Context, *, s1x1: int, e1x1: int, e3x3: int, bypass: str = "none") -> str:
    """SqueezeNet fire module (paper section 3.2): squeeze 1x1 + ReLU, expand 1x1 and 3x3 (pad 1)
    + ReLU, concat; biased convs, no BN. ``bypass``: none, identity (simple bypass) or conv (a 1x1
    conv shortcut, complex bypass), added to the concatenated output (paper section 6)."""
    if bypass not in ("none", "identity", "conv"):
        raise SpecError(f"fire bypass must be none, identity or conv, got {bypass!r}")
    s = g.conv(x, ctx.ch(s1x1), 1, bn=False, bias=True, act="relu", name="squeeze")
    a = g.conv(s, ctx.ch(e1x1), 1, bn=False, bias=True, act="relu", name="expand1x1")
    b = g.conv(s, ctx.ch(e3x3), 3, bn=False, bias=True, act="relu", name="expand3x3")
    y = g.concat([a, b], "concat")
    if bypass == "identity":
        y = g.add_tensors([x, y], "bypass")
    elif bypass == "conv":
        short = g.add(Conv2d(g.shape(y)[0], 1, bias=True), x, "bypass_conv")
        y = g.add_tensors([short, y], "bypass")
    return y


@block_type("classifier_conv")
def classifier_conv(g: GraphBuilder, x: str, ctx: Context, *, act: str = "relu") -> str:
    """1x1 conv to the number of classes (biased) + activation: SqueezeNet's conv10."""
    return g.conv(x, ctx.classes, 1, bn=False, bias=True, act=act, name="")


def _fire(name, s1x1, e1x1, e3x3, bypass):
    """Paper section 6: identity bypass around fire3/5/7/9 (equal widths), and with 'complex'
    a 1x1 conv bypass around fire2/4/6/8."""
    i = int(name[4:])
    kind = "none"
    if bypass in ("simple", "complex") and i % 2 == 1:
        kind = "identity"
    elif bypass == "complex" and i % 2 == 0:
        kind = "conv"
    return blk("fire", name=name, s1x1=s1x1, e1x1=e1x1, e3x3=e3x3, bypass=kind)


def _pool(name):
    return blk("pool", name=name, kind="max", k=3, s=2, ceil_mode=True)


# paper Table 1 (v1.0): layer, s1x1, e1x1, e3x3   # output at 227, params
FIRES = (
    ("fire2", 16, 64, 64),      # 55x55x128     11,920
    ("fire3", 16, 64, 64),      # 55x55x128     12,432
    ("fire4", 32, 128, 128),    # 55x55x256     45,344
    ("fire5", 32, 128, 128),    # 27x27x256     49,440
    ("fire6", 48, 192, 192),    # 27x27x384    104,880
    ("fire7", 48, 192, 192),    # 27x27x384    111,024
    ("fire8", 64, 256, 256),    # 27x27x512    188,992
    ("fire9", 64, 256, 256),    # 13x13x512    197,184
)
CONV1 = {
    "1_0": blk("conv", name="conv1", c=96, k=7, s=2, padding=0, bn=False, bias=True),  # 111x111x96  14,208
    "1_1": blk("conv", name="conv1", c=64, k=3, s=2, padding=0, bn=False, bias=True),  # 113x113x64   1,792
}
#: the fire modules each max pool follows (besides conv1)
POOLS_AFTER = {"1_0": ("fire4", "fire8"), "1_1": ("fire3", "fire5")}


def _spec(version: str, bypass: str) -> NetSpec:
    blocks = [CONV1[version], _pool("maxpool1")]
    for name, s1, e1, e3 in FIRES:
        blocks.append(_fire(name, s1, e1, e3, bypass))
        if name in POOLS_AFTER[version]:
            blocks.append(_pool("maxpool" + name[4:]))
    blocks += [
        blk("dropout", name="drop9", p=0.5),
        blk("classifier_conv", name="conv10"),  # 1x1/1 x classes + ReLU: 13x13x1000  513,000
        blk("gap", name="avgpool10"),
        blk("flatten", name="flatten"),
    ]
    return NetSpec(f"squeezenet{version}", tuple(blocks), width="unscaled", default_res=227, source=SOURCE)


def spec_1_0(alpha: float = 1.0, bypass: str = "none") -> NetSpec:
    return _spec("1_0", bypass)


def spec_1_1(alpha: float = 1.0, bypass: str = "none") -> NetSpec:
    return _spec("1_1", bypass)


_BYPASS = Knob("bypass", "none", BYPASSES,
               "paper section 6: simple = identity around fire3/5/7/9; complex = also 1x1 conv shortcuts "
               "around fire2/4/6/8")

register(Network(
    "squeezenet1_0", "SqueezeNet", spec_1_0,
    "SqueezeNet v1.0: fire modules, Table 1 (227x227 Caffe crop)", "arXiv 1602.07360",
    knobs=(_BYPASS,), default_res=227, min_res=29, alphas=(1.0,), alpha_help="not defined (1.0 only)",
))
register(Network(
    "squeezenet1_1", "SqueezeNet", spec_1_1,
    "SqueezeNet v1.1: conv1 3x3/2 64, pools after conv1/fire3/fire5 (README: 2.4x less computation)",
    "arXiv 1602.07360; forresti/SqueezeNet v1.1",
    knobs=(_BYPASS,), default_res=227, min_res=25, alphas=(1.0,), alpha_help="not defined (1.0 only)",
))
