"""GhostNet (Han et al. 2020, arXiv 1911.11907, Table 1), as the official huawei-noah
ghostnet_pytorch code and its port in timm (timm/models/ghostnet.py) build it.

Ghost module (section 3.1): a primary 1x1 conv to m = ceil(n / s) "intrinsic" maps + BN + act, a
cheap d x d depthwise conv producing (s - 1) m "ghost" maps from them + BN + act, the two
concatenated and cut to n channels (s = ratio = 2, d = 3). Parameters and Mult-Adds are about 1/s
of an ordinary 1x1 conv to n (eq. 4).

Ghost bottleneck (Figure 3): ghost module (expansion, ReLU) -> for stride 2 only, depthwise k x k
/ 2 + BN (no activation) -> optional SE on the expansion (squeeze make_divisible(exp x 0.25, 4),
ReLU inside, hard-sigmoid gate, biased 1x1 convs) -> ghost module (projection, no activation),
plus a shortcut: identity when the stride is 1 and in = out, else depthwise k x k / s + BN and a
1x1 conv + BN. Stride-1 bottlenecks have no depthwise conv between the two ghost modules.

Network (Table 1; kernel sizes from the code): stem conv 3x3/2 16 + BN + ReLU, 16 bottlenecks,
conv 1x1 960 + BN + ReLU, global pool, conv 1x1 1280 with bias (no BN) + ReLU *after* the pool,
dropout 0.2, FC. Width multiplier ("GhostNet 0.5x / 1.0x / 1.3x", Table 7): every width but
the 1280 conv is make_divisible(c x width, 4) (policy ``divisible4``).
"""
from __future__ import annotations

import math
from typing import Optional

from ..blocks import se_squeeze, squeeze_excite
from ..errors import SpecError
from ..graph import GraphBuilder
from ..network import Network, register
from ..ops import Split
from ..spec import Context, NetSpec, blk, block_type

SOURCE = "arXiv 1911.11907 Table 1; huawei-noah ghostnet_pytorch ghostnet.py; timm ghostnet.py"

# paper Table 1 (G-bneck rows) with the code's kernel sizes
ROWS = (
    # k, exp,  out, SE,  s
    (3, 16, 16, 0, 1),
    (3, 48, 24, 0, 2),
    (3, 72, 24, 0, 1),
    (5, 72, 40, 0.25, 2),
    (5, 120, 40, 0.25, 1),
    (3, 240, 80, 0, 2),
    (3, 200, 80, 0, 1),
    (3, 184, 80, 0, 1),
    (3, 184, 80, 0, 1),
    (3, 480, 112, 0.25, 1),
    (3, 672, 112, 0.25, 1),
    (5, 672, 160, 0.25, 2),
    (5, 960, 160, 0, 1),
    (5, 960, 160, 0.25, 1),
    (5, 960, 160, 0, 1),
    (5, 960, 160, 0.25, 1),
)
STEM, LAST, HEAD, DROPOUT = 16, 960, 1280, 0.2


def ghost_module(g: GraphBuilder, x: str, out: int, act: Optional[str], ratio: int = 2, dw_k: int = 3,
                 name: str = "ghost") -> str:
    """Ghost module to ``out`` channels: primary 1x1 conv to m = ceil(out / ratio) + BN + act,
    cheap depthwise dw_k x dw_k conv with channel multiplier ratio - 1 + BN + act, concat, and the
    first ``out`` channels kept (a split whose surplus part is dropped when ratio m > out)."""
    if isinstance(ratio, bool) or not isinstance(ratio, int) or ratio < 2:
        raise SpecError(f"ghost module ratio must be an integer >= 2, got {ratio!r}")
    init = math.ceil(out / ratio)
    with g.scope(name):
        p = g.conv(x, init, 1, act=act, name="primary")
        q = g.dwconv(p, dw_k, 1, act=act, name="cheap", multiplier=ratio - 1)
        y = g.concat([p, q], "concat")
        if ratio * init > out:  # out[:, :out_chs]
            y = g.add(Split((out, ratio * init - out)), y, "slice")
    return y


@block_type("ghost")
def ghost_bottleneck(g: GraphBuilder, x: str, ctx: Context, *, c: int, exp: int, k=3, s=1, se: float = 0.0,
                     act: str = "relu", ratio: int = 2, dw_k: int = 3, se_round: int = 4,
                     width: str = "scaled") -> str:
    """Ghost bottleneck (GhostNet Figure 3, timm GhostBottleneck): ghost module to ``exp`` (scaled
    by alpha) + act; depthwise k x k / s + BN for s > 1 only; SE with squeeze
    make_divisible(se x exp, se_round) (0: max(1, int(...))), ReLU inside, hard-sigmoid gate;
    ghost module to ``c`` without activation; plus the identity (s = 1 and in = out) or a
    depthwise k x k / s + BN, 1x1 conv + BN shortcut."""
    if isinstance(se, bool) or not isinstance(se, (int, float)) or not 0 <= se <= 1:
        raise SpecError(f"ghost se must be a ratio between 0 and 1 of the expansion channels, got {se!r}")
    c_in = g.shape(x)[0]
    mid, out = ctx.ch(exp, width), ctx.ch(c, width)
    stride = (s, s) if isinstance(s, int) else tuple(s)
    y = ghost_module(g, x, mid, act, ratio, dw_k, "ghost1")
    if stride != (1, 1):
        y = g.dwconv(y, k, s, name="dw")
    if se:
        y = squeeze_excite(g, y, se_squeeze(se, mid, se_round), act="relu", gate="hsigmoid")
    y = ghost_module(g, y, out, None, ratio, dw_k, "ghost2")
    if stride == (1, 1) and c_in == out:
        shortcut = x
    else:
        with g.scope("shortcut"):
            shortcut = g.conv(g.dwconv(x, k, s, name="dw"), out, 1, name="pw")
    return g.add_tensors([y, shortcut], "add")


def spec(alpha: float = 1.0) -> NetSpec:
    blocks = [blk("conv", c=STEM, k=3, s=2, act="relu")]
    blocks += [blk("ghost", k=k, exp=exp, c=c, s=s, **({"se": se} if se else {})) for k, exp, c, se, s in ROWS]
    blocks += [
        blk("conv", c=LAST, k=1, act="relu"),
        blk("gap"),
        blk("conv", c=HEAD, k=1, bn=False, bias=True, act="relu", width="fixed"),  # conv_head after the pool
        blk("dropout", p=DROPOUT),
        blk("fc"),
    ]
    return NetSpec("ghostnet", tuple(blocks), width="divisible4", source=SOURCE)


register(Network("ghostnet", "GhostNet", spec, "GhostNet: ghost modules (cheap depthwise features, ratio 2), "
                 "Table 1; alpha 0.5, 1.0, 1.3 in Table 7", "arXiv 1911.11907",
                 alpha_help="width multiplier (make_divisible(c * alpha, 4); the 1280 conv is fixed)"))
