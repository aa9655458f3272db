"""FBNet-A, -B, -C (Wu et al. 2019, arXiv 1812.03443, Figure 4): the released block choices.

The tables are facebookresearch/mobile-vision's ``mobile_cv/arch/fbnet_v2/fbnet_modeldef_cls_fbnet.py``
(``MODEL_ARCH_FBNET``: ``[op, c, s, n, expansion]`` rows, every n = 1), transcribed row for row;
FBNet-A also matches the paper-era ``block_op_type`` lists of maskrcnn-benchmark's FBNet builder
(``ir_k5_s2`` = a k5, expansion-1 block with group-2 pointwise convs and a channel shuffle, written
``ir_k5_g2`` in the newer file). timm's ``fbnetc_100`` has C's blocks (it drops C's ``skip``).

Ops: ``conv_k3`` / ``conv_k1`` = conv + BN + ReLU; ``ir_kK`` with expansion e = [1x1 conv to
C_in x e + BN + ReLU] (group 2 and a channel shuffle in the ``_g2`` blocks), depthwise K x K / s +
BN + ReLU, 1x1 projection (group 2 in ``_g2``) + BN, identity shortcut when s = 1 and C_in == C_out;
``skip`` = identity (a 1x1 conv + BN + ReLU only where channels or stride change; not in A/B/C).
Classifier: global pool and a biased 1x1 conv to the classes (counted as a Linear).

Two official builders disagree (knob ``impl``):

* ``maskrcnn`` (default): maskrcnn-benchmark's ``IRFBlock`` / mobile-vision's first builder, which
  the released ImageNet checkpoints use (mobile_cv model_zoo ``model_info/fbnet/model_info.json``)
  and timm's ``fbnetc_100`` follows: the 1x1 expansion conv is always built, even at e = 1; no conv
  has a bias.
* ``fbnet_v2``: mobile-vision's ``fbnet_v2`` builder with the same file's arguments: no expansion
  conv when C_in x e == C_in (e = 1), every conv of the ``ir`` blocks biased (``use_bias``), and the
  stem and head convs too (``nn.Conv2d``'s default, no ``bias`` argument given).

Each row is one searched layer (n = 1 throughout), so FBNet has no depth multiplier, and only the
released width (alpha = 1) is defined.
"""
from ..errors import SpecError
from ..graph import GraphBuilder
from ..network import Knob, Network, register
from ..ops import ChannelShuffle
from ..spec import Context, NetSpec, blk, block_type

SOURCE = ("arXiv 1812.03443 Fig. 4; facebookresearch/mobile-vision fbnet_modeldef_cls_fbnet.py; "
          "maskrcnn-benchmark fbnet_builder.py; timm efficientnet.py _gen_fbnetc")
IMPLS = ("maskrcnn", "fbnet_v2")

# [op, c, s, e]  (mobile-vision MODEL_ARCH_FBNET; n = 1 everywhere; stage comments as there)
FBNET_A = (
    ("conv_k3", 16, 2),                                                                  # stage 0
    ("skip", 16, 1),                                                                     # stage 1
    ("ir_k3", 24, 2, 3), ("ir_k3", 24, 1, 1), ("skip", 24, 1), ("skip", 24, 1),          # stage 2
    ("ir_k5", 32, 2, 6), ("ir_k3", 32, 1, 3), ("ir_k5", 32, 1, 1), ("ir_k3", 32, 1, 3),  # stage 3
    ("ir_k5", 64, 2, 6), ("ir_k5", 64, 1, 3), ("ir_k5_g2", 64, 1, 1), ("ir_k5", 64, 1, 6),  # stage 4
    ("ir_k3", 112, 1, 6), ("ir_k5_g2", 112, 1, 1), ("ir_k5", 112, 1, 3), ("ir_k3_g2", 112, 1, 1),
    ("ir_k5", 184, 2, 6), ("ir_k5", 184, 1, 6), ("ir_k5", 184, 1, 3), ("ir_k5", 184, 1, 6),  # stage 5
    ("ir_k5", 352, 1, 6),
    ("conv_k1", 1504, 1),                                                                # stage 6
)
FBNET_B = (
    ("conv_k3", 16, 2),
    ("ir_k3", 16, 1, 1),
    ("ir_k3", 24, 2, 6), ("ir_k5", 24, 1, 1), ("ir_k3", 24, 1, 1), ("ir_k3", 24, 1, 1),
    ("ir_k5", 32, 2, 6), ("ir_k5", 32, 1, 3), ("ir_k3", 32, 1, 6), ("ir_k5", 32, 1, 6),
    ("ir_k5", 64, 2, 6), ("ir_k5", 64, 1, 6), ("skip", 64, 1), ("ir_k5", 64, 1, 3),
    ("ir_k5", 112, 1, 6), ("ir_k3", 112, 1, 1), ("ir_k5", 112, 1, 1), ("ir_k5", 112, 1, 3),
    ("ir_k5", 184, 2, 6), ("ir_k5", 184, 1, 1), ("ir_k5", 184, 1, 6), ("ir_k5", 184, 1, 6),
    ("ir_k3", 352, 1, 6),
    ("conv_k1", 1984, 1),
)
FBNET_C = (
    ("conv_k3", 16, 2),
    ("ir_k3", 16, 1, 1),
    ("ir_k3", 24, 2, 6), ("skip", 24, 1), ("ir_k3", 24, 1, 1), ("ir_k3", 24, 1, 1),
    ("ir_k5", 32, 2, 6), ("ir_k5", 32, 1, 3), ("ir_k5", 32, 1, 6), ("ir_k3", 32, 1, 6),
    ("ir_k5", 64, 2, 6), ("ir_k5", 64, 1, 3), ("ir_k5", 64, 1, 6), ("ir_k5", 64, 1, 6),
    ("ir_k5", 112, 1, 6), ("ir_k5", 112, 1, 6), ("ir_k5", 112, 1, 6), ("ir_k5", 112, 1, 3),
    ("ir_k5", 184, 2, 6), ("ir_k5", 184, 1, 6), ("ir_k5", 184, 1, 6), ("ir_k5", 184, 1, 6),
    ("ir_k3", 352, 1, 6),
    ("conv_k1", 1984, 1),
)


@block_type("fbnet_ir")
def fbnet_inverted_residual(g: GraphBuilder, x: str, ctx: Context, *, c: int, e: int, k: int = 3, s=1,
                            groups: int = 1, pw_always: bool = True, bias: bool = False) -> str:
    """FBNet's IRF block: [1x1 conv (``groups``) to C_in x e + BN + ReLU] (built at e = 1 too when
    ``pw_always``), channel shuffle when ``groups`` > 1, depthwise k x k / s + BN + ReLU, 1x1
    projection (``groups``) + BN, identity shortcut when s = 1 and C_in == C_out. ``bias``: every
    conv also has a bias (mobile-vision fbnet_v2's ``use_bias``)."""
    c_in = g.shape(x)[0]
    if isinstance(e, bool) or not isinstance(e, int) or e < 1:
        raise SpecError(f"fbnet_ir expansion e must be a positive integer, got {e!r}")
    mid, c_out = c_in * e, ctx.ch(c)
    y = x
    if pw_always or mid != c_in:
        y = g.conv(y, mid, 1, groups=groups, bias=bias, act="relu", name="pw")
    if groups > 1:
        y = g.add(ChannelShuffle(groups), y, "shuffle")
    y = g.conv(y, mid, k, s, groups=mid, bias=bias, act="relu", name="dw")
    y = g.conv(y, c_out, 1, groups=groups, bias=bias, act=None, name="pwl")
    stride = (s, s) if isinstance(s, int) else tuple(s)
    if stride == (1, 1) and c_in == c_out:
        y = g.add_tensors([x, y], "add")
    return y


@block_type("fbnet_skip")
def fbnet_skip(g: GraphBuilder, x: str, ctx: Context, *, c: int, s=1) -> str:
    """FBNet's ``skip`` op: the identity (no layer at all) when s = 1 and the width is kept, else a
    1x1 / s conv + BN + ReLU (no bias) to c."""
    c_out = ctx.ch(c)
    stride = (s, s) if isinstance(s, int) else tuple(s)
    if stride == (1, 1) and g.shape(x)[0] == c_out:
        return x
    return g.conv(x, c_out, 1, s, act="relu", name="")


def blocks_of(rows, impl: str = "maskrcnn"):
    """The spec rows of one FBNet table under ``impl``'s builder."""
    v2 = impl == "fbnet_v2"
    out = []
    for op, c, s, *e in rows:
        if op == "skip":
            out.append(blk("fbnet_skip", c=c, s=s))
        elif op.startswith("conv_k"):
            out.append(blk("conv", c=c, k=int(op[6:]), s=s, act="relu", bias=v2))
        else:
            k = int(op[4])
            groups = 2 if op.endswith("_g2") else 1
            out.append(blk("fbnet_ir", c=c, e=e[0], k=k, s=s, groups=groups, pw_always=not v2, bias=v2))
    return tuple(out) + (blk("gap"), blk("dropout", p=0.2), blk("fc"))


def _register(name, rows, description):
    def spec(alpha: float = 1.0, impl: str = "maskrcnn") -> NetSpec:
        return NetSpec(name, blocks_of(rows, impl), width="divisible8", source=SOURCE)

    register(Network(name, "FBNet", spec, description, "arXiv 1812.03443", alphas=(1.0,),
                     knobs=(Knob("impl", "maskrcnn", IMPLS,
                                 "maskrcnn = the released checkpoints' builder (maskrcnn-benchmark IRFBlock, timm): "
                                 "1x1 expansion conv even at e=1, no conv bias; fbnet_v2 = mobile-vision fbnet_v2: "
                                 "no expansion conv at e=1, biased convs"),),
                     alpha_help="the released width only"))


_register("fbnet_a", FBNET_A, "FBNet-A: the released block choices (Samsung S8 latency search)")
_register("fbnet_b", FBNET_B, "FBNet-B: the released block choices (Samsung S8 latency search)")
_register("fbnet_c", FBNET_C, "FBNet-C: the released block choices (Samsung S8 latency search)")
