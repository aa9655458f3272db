"""ShuffleNet V2 (Ma et al. 2018, arXiv 1807.11164), paper Table 5, as torchvision's
``shufflenetv2.py`` builds it (convs without bias, BN after each conv, biased FC), or as the
official megvii code does (``impl``).

Basic unit (Fig. 3c): channel split into halves; the right half goes through 1x1 conv + BN + ReLU,
3x3 depthwise + BN, 1x1 conv + BN + ReLU; concat with the left half; channel shuffle (2 groups).
Downsampling unit (Fig. 3d): no split; left branch 3x3/2 depthwise + BN, 1x1 conv + BN + ReLU;
right branch as the basic one with a stride-2 depthwise conv; each branch outputs C_out / 2;
concat, shuffle. Stem Conv1 3x3/2 24 + BN + ReLU, MaxPool 3x3/2 pad 1, Stage2/3/4 of 4/8/4 units,
Conv5 1x1 + BN + ReLU, global pool, FC.

The width multipliers are the four columns of Table 5 (the official code and torchvision define
no rule for others), so alpha must be 0.5, 1, 1.5 or 2.

``impl`` (``--set impl=megvii``; two readings of the downsampling unit): ``torchvision`` (default; its
``parameters()`` counts are 1,366,792 / 2,278,604 / 3,503,624 / 7,393,996) gives each branch
C_out / 2 channels; the official megvii-model/ShuffleNet-Series code (``ShuffleV2Block``) keeps
the left branch at C_in channels (1x1 C_in -> C_in) and has the right branch output C_out - C_in,
which differs in Stage2's first unit only (C_in = 24); its FC has no bias, it shuffles at the
start of each basic unit (fused with the split) instead of after every unit, and its 2x model has
a dropout before the FC (no cost). The paper's and the release's MFLOPs follow the megvii unit.
"""
from ..errors import SpecError
from ..graph import GraphBuilder
from ..ops import ChannelShuffle, Concat, Split
from ..network import Knob, Network, register
from ..spec import Context, NetSpec, blk, block_type

SOURCE = "arXiv 1807.11164 Table 5; torchvision shufflenetv2.py"

#: paper Table 5: output channels of Stage2, Stage3, Stage4, Conv5 by width multiplier
TABLE5 = {0.5: (48, 96, 192, 1024), 1.0: (116, 232, 464, 1024), 1.5: (176, 352, 704, 1024),
          2.0: (244, 488, 976, 2048)}
STEM = 24
REPEATS = (4, 8, 4)
IMPLS = ("torchvision", "megvii")


@block_type("shufflenet_v2_unit")
def shufflenet_v2_unit(g: GraphBuilder, x: str, ctx: Context, *, c: int, s: int = 1,
                       impl: str = "torchvision") -> str:
    """ShuffleNet V2 unit to c output channels (Fig. 3 c/d).

    Basic (s = 1): split in halves, right half 1x1, 3x3 dw, 1x1 (c / 2 each), concat.
    Downsampling (s = 2): left 3x3/2 dw + 1x1, right 1x1, 3x3/2 dw, 1x1, concat.
    ``torchvision``: both branches output c / 2, shuffle 2 after the concat. ``megvii``: the left
    branch keeps the input width C_in, the right outputs c - C_in (bottleneck c / 2), and the
    shuffle is fused with the split at the start of each basic unit. The two differ only in
    Stage2's first unit, where C_in = 24 != c / 2."""
    if impl not in IMPLS:
        raise SpecError(f"shufflenet_v2_unit impl must be one of {', '.join(IMPLS)}, got {impl!r}")
    c_in = g.shape(x)[0]
    half = c // 2
    if s == 1:
        if c != c_in:
            raise SpecError(f"a basic ShuffleNet V2 unit keeps its width; got {c_in} -> {c}")
        if impl == "megvii":
            x = g.add(ChannelShuffle(2), x, "shuffle")
        left, right = g.outputs_of(g.add(Split((c_in - c_in // 2, c_in // 2)), x, "split"))
        out = half
    else:
        left_out, out = (c_in, c - c_in) if impl == "megvii" else (half, half)
        left = g.dwconv(x, 3, s, name="left.dw")
        left = g.conv(left, left_out, 1, act="relu", name="left.pw")
        right = x
    y = g.conv(right, half, 1, act="relu", name="pw1")
    y = g.dwconv(y, 3, s, name="dw")
    y = g.conv(y, out, 1, act="relu", name="pw2")
    y = g.add(Concat(), [left, y], "concat")
    return y if impl == "megvii" else g.add(ChannelShuffle(2), y, "shuffle")


def spec(alpha: float = 1.0, impl: str = "torchvision") -> NetSpec:
    *stages, conv5 = TABLE5[alpha]
    blocks = [blk("conv", name="conv1", c=STEM, k=3, s=2, act="relu"),         # 3x3/2, 112x112
              blk("pool", name="maxpool", kind="max", k=3, s=2, padding=1)]      # 3x3/2, 56x56
    for i, (c, n) in enumerate(zip(stages, REPEATS)):                            # 28, 14, 7
        blocks += [blk("shufflenet_v2_unit", name=f"stage{i + 2}.{u}", c=c, s=2 if u == 0 else 1, impl=impl)
                   for u in range(n)]
    blocks += [blk("conv", name="conv5", c=conv5, k=1, act="relu"),              # Conv5 1x1
               blk("gap", name="pool"), blk("fc", name="fc", bias=impl != "megvii")]  # GlobalPool, FC 1000
    return NetSpec("shufflenet_v2", tuple(blocks), width="unscaled", source=SOURCE)


register(Network(
    "shufflenet_v2", "ShuffleNet V2", spec,
    "ShuffleNet V2: channel split and shuffle, Table 5", "arXiv 1807.11164",
    knobs=(Knob("impl", "torchvision", IMPLS,
                "torchvision (default) or the official megvii code (Stage2's first unit, FC without bias)"),),
    alphas=tuple(TABLE5), alpha_help="Table 5 width (0.5x, 1x, 1.5x, 2x)",
))
