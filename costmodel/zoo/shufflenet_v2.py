"""ShuffleNet V2 (Ma et al. 2018, arXiv 1807.11164), paper Table 5, as torchvision's
``shufflenetv2.py`` builds it (convs without bias, BN after each conv, biased FC).

Basic unit (Fig. 3c): channel split into halves; the right half goes through 1x1 conv + BN + ReLU,
3x3 depthwise + BN, 1x1 conv + BN + ReLU; concat with the left half; channel shuffle (2 groups).
Downsampling unit (Fig. 3d): no split; left branch 3x3/2 depthwise + BN, 1x1 conv + BN + ReLU;
right branch as the basic one with a stride-2 depthwise conv; each branch outputs C_out / 2;
concat, shuffle. Stem Conv1 3x3/2 24 + BN + ReLU, MaxPool 3x3/2 pad 1, Stage2/3/4 of 4/8/4 units,
Conv5 1x1 + BN + ReLU, global pool, FC.

The width multipliers are the four columns of Table 5 (the official code and torchvision define
no rule for others), so alpha must be 0.5, 1, 1.5 or 2. The official megvii code differs only in
cost-free details: it shuffles at the start of each basic unit instead of after every unit, its
2x model has a dropout before the FC, and its FC has no bias (1,000 parameters fewer).
"""
from ..graph import GraphBuilder
from ..errors import SpecError
from ..ops import ChannelShuffle, Concat, Split
from ..registry import Network, register
from ..spec import Context, NetSpec, blk, block_type

SOURCE = "arXiv 1807.11164 Table 5; torchvision shufflenetv2.py"

#: paper Table 5: output channels of Stage2, Stage3, Stage4, Conv5 by width multiplier
TABLE5 = {0.5: (48, 96, 192, 1024), 1.0: (116, 232, 464, 1024), 1.5: (176, 352, 704, 1024),
          2.0: (244, 488, 976, 2048)}
STEM = 24
REPEATS = (4, 8, 4)


@block_type("shufflenet_v2_unit")
def shufflenet_v2_unit(g: GraphBuilder, x: str, ctx: Context, *, c: int, s: int = 1) -> str:
    """ShuffleNet V2 unit to c output channels (Fig. 3 c/d): basic (s = 1, split in halves) or
    downsampling (s = 2, two branches); each branch outputs c / 2; concat, shuffle 2."""
    c_in = g.shape(x)[0]
    half = c // 2
    if s == 1:
        if c != c_in:
            raise SpecError(f"a basic ShuffleNet V2 unit keeps its width; got {c_in} -> {c}")
        parts = g.add(Split((c_in - c_in // 2, c_in // 2)), x, "split")
        left, right = g.outputs_of(parts)
    else:
        left = g.dwconv(x, 3, s, name="left.dw")
        left = g.conv(left, half, 1, act="relu", name="left.pw")
        right = x
    y = g.conv(right, half, 1, act="relu", name="pw1")
    y = g.dwconv(y, 3, s, name="dw")
    y = g.conv(y, half, 1, act="relu", name="pw2")
    y = g.add(Concat(), [left, y], "concat")
    return g.add(ChannelShuffle(2), y, "shuffle")


def spec(alpha: float = 1.0) -> NetSpec:
    *stages, conv5 = TABLE5[alpha]
    blocks = [blk("conv", c=STEM, k=3, s=2, act="relu"),          # Conv1 3x3/2, 112x112
              blk("pool", kind="max", k=3, s=2, padding=1)]       # MaxPool 3x3/2, 56x56
    for c, n in zip(stages, REPEATS):                             # Stage2/3/4: 28, 14, 7
        blocks.append(blk("shufflenet_v2_unit", c=c, s=2))
        blocks.append(blk("shufflenet_v2_unit", n=n - 1, c=c, s=1))
    blocks += [blk("conv", c=conv5, k=1, act="relu"),             # Conv5 1x1
               blk("gap"), blk("fc")]                             # GlobalPool 7x7, FC 1000 (biased)
    return NetSpec("shufflenet_v2", tuple(blocks), width="unscaled", source=SOURCE)


register(Network(
    "shufflenet_v2", "ShuffleNet V2", spec,
    "ShuffleNet V2: channel split and shuffle, Table 5", "arXiv 1807.11164",
    alphas=tuple(TABLE5), alpha_help="Table 5 width (0.5x, 1x, 1.5x, 2x)",
))
