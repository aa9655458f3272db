"""ShuffleNet V1 (Zhang et al. 2017, arXiv 1707.01083v2), paper Table 1, with the unit of the
official megvii-model/ShuffleNet-Series code (ShuffleNetV1/blocks.py, network.py).

Unit (Fig. 2 b/c; ``ShuffleV1Block``), bottleneck m = C_out // 4 (also for stride 2):
1x1 group conv C_in -> m (groups g; not grouped in the first unit of Stage2, whose input is the
24-channel stem) + BN + ReLU, 3x3 depthwise / s + BN (no ReLU), channel shuffle (g > 1; the code
shuffles after the depthwise conv, the paper's Fig. 2 before it: a depthwise conv commutes with a
channel permutation, so the costs are the same), 1x1 group conv m -> C_out (stride 1) or
C_out - C_in (stride 2) + BN; then ReLU(x + branch) (stride 1) or concat(AvgPool 3x3/2 pad 1 (x),
ReLU(branch)) (stride 2: the code applies the ReLU to the branch only, the pooled input being
non-negative already; the pool needs its padding of 1 to meet the depthwise branch's size). All convs
without bias. Unit cost hw(2 C m / g + 9 m) (paper section 3.2).

Widths for scale factor s (``alpha``; "ShuffleNet s x", paper section 3.3):
- stage outputs ``make_divisible(s * c, 4 g)`` of Table 1's column c (nearest multiple, halves
  up, never more than 10% down; ``rounding.make_divisible``): the bottleneck m = C_out / 4 feeds
  and leaves g-group convs, so C_out must be a multiple of 4g. This gives exactly the official
  code's literal tables (g = 3 and g = 8 at 0.5x, 1x, 1.5x, 2x) and Table 1 at 1x; it only rounds
  where s * c is not such a multiple (0.5x g=4: 136 -> 144, which gives Table 5's 38 MFLOPs;
  0.25x g=4: 68 -> 64).
- stem ``make_divisible(24 s', g)`` with s' = s, except the official 1.5x whose stem is 24
  (s' = 1): the code's 0.5x stem is 12 for g = 3 and 16 for g = 8 (C_out - C_in of Stage2's first
  unit must divide by g), 24 at 1x and 1.5x, 48 at 2x.

``variant``: ``standard`` (Stage2/3/4 with 4/8/4 units) or ``shallow`` (section 4.2, "ShuffleNet
0.5x shallow (g=3)": a 26-layer network "by removing half of the blocks in Stage 2-4", i.e. 2/4/2
units; Table 5's 40 MFLOPs for it is not reproduced at the 0.5x widths, see data/).

``fc_bias``: the official megvii code's classifier is ``Linear(..., bias=False)``, and the
release's parameter counts need it (2.0x g=3: 5,449,776 with BN -> "5.4"; with a bias 5,450,776
would print 5.5), so the default is no bias; ``--set fc_bias=true`` adds the 1,000 biases.
"""
from ..errors import KnobError, SpecError
from ..graph import GraphBuilder
from ..ops import AvgPool, ChannelShuffle, Concat
from ..network import Knob, Network, register
from ..rounding import make_divisible
from ..spec import Context, NetSpec, blk, block_type

SOURCE = "arXiv 1707.01083v2 Table 1; megvii-model/ShuffleNet-Series ShuffleNetV1"

#: paper Table 1: output channels of Stage2, Stage3, Stage4 by number of groups g
TABLE1 = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960), 4: (272, 544, 1088), 8: (384, 768, 1536)}
STEM = 24            # Conv1 3x3/2, 24 channels at 1x
REPEATS = {"standard": (4, 8, 4), "shallow": (2, 4, 2)}
#: the official code's stem for 1.5x is 24, not 36 (its only departure from 24 s)
STEM_SCALE = {1.5: 1.0}


def widths(alpha: float, groups: int):
    """(stem, (stage2, stage3, stage4)) output channels for scale factor ``alpha`` and ``groups``."""
    stem = make_divisible(STEM * STEM_SCALE.get(alpha, alpha), groups)
    return stem, tuple(make_divisible(c * alpha, 4 * groups) for c in TABLE1[groups])


@block_type("shufflenet_v1_unit")
def shufflenet_v1_unit(g: GraphBuilder, x: str, ctx: Context, *, c: int, s: int = 1, groups: int = 3,
                       first: bool = False) -> str:
    """ShuffleNet unit (paper Fig. 2 b/c) to c output channels; m = c // 4; ``first``: ungrouped
    first 1x1 conv. Mult-Adds hw(2 C m / g + 9 m) at stride 1 (section 3.2)."""
    c_in = g.shape(x)[0]
    if s != 1 and c <= c_in:
        raise SpecError(f"a stride-2 ShuffleNet unit concatenates its input: c={c} must exceed its {c_in} "
                        f"input channels")
    m = c // 4
    y = g.conv(x, m, 1, groups=1 if first else groups, act="relu", name="pw1")
    y = g.dwconv(y, 3, s, name="dw")
    if groups > 1:
        y = g.add(ChannelShuffle(groups), y, "shuffle")
    if s == 1:
        y = g.conv(y, c, 1, groups=groups, name="pw2")
        return g.act(g.add_tensors([x, y], "add"), "relu")
    y = g.conv(y, c - c_in, 1, groups=groups, act="relu", name="pw2")
    p = g.add(AvgPool(3, 2, 1), x, "shortcut")
    return g.add(Concat(), [p, y], "concat")


def spec(alpha: float = 1.0, groups: int = 3, variant: str = "standard", fc_bias: bool = False) -> NetSpec:
    stem, stages = widths(alpha, groups)
    if not stem < stages[0] < stages[1] < stages[2]:
        raise KnobError(f"shufflenet_v1: alpha {alpha:g} is too small for groups={groups}: the widths "
                        f"{stem}, {', '.join(map(str, stages))} must grow from stage to stage "
                        f"(a stride-2 unit concatenates its input)")
    blocks = [blk("conv", name="conv1", c=stem, k=3, s=2, act="relu"),          # 3x3/2, 112x112
              blk("pool", name="maxpool", kind="max", k=3, s=2, padding=1)]      # 3x3/2, 56x56
    for i, (c, n) in enumerate(zip(stages, REPEATS[variant])):                   # 28, 14, 7
        blocks += [blk("shufflenet_v1_unit", name=f"stage{i + 2}.{u}", c=c, s=2 if u == 0 else 1,
                       groups=groups, first=i == 0 and u == 0) for u in range(n)]
    blocks += [blk("gap", name="pool"), blk("fc", name="fc", bias=fc_bias)]      # GlobalPool, FC 1000
    return NetSpec("shufflenet_v1", tuple(blocks), width="unscaled", source=SOURCE)


register(Network(
    "shufflenet_v1", "ShuffleNet V1", spec,
    "ShuffleNet V1: pointwise group convs and channel shuffle, Table 1", "arXiv 1707.01083",
    knobs=(Knob("groups", 3, (1, 2, 3, 4, 8), "groups g of the 1x1 convs (Table 1 columns)"),
           Knob("variant", "standard", ("standard", "shallow"),
                "standard = 4/8/4 units; shallow = 2/4/2 units (section 4.2, 26 layers)"),
           Knob("fc_bias", False, (False, True), "FC bias (default off, as the official megvii code)")),
    alpha_help="scale factor s of 'ShuffleNet s x' (channels x s, stage widths multiples of 4g)",
))
