"""MixNet-S/M/L (Tan & Le 2019, arXiv 1907.09595), from the official block strings of
tensorflow/tpu models/official/mnasnet/mixnet/mixnet_builder.py, written here literally and parsed.

MixConv (paper section 3): the channels are split into len(k) groups, the first taking the
remainder (``split_channels``), each group gets its own depthwise k x k conv, the outputs are
concatenated. The expand / project 1x1 convs are the official ``GroupedConv2D``: input and output
channels both split the same way into ``a`` / ``p`` groups, one 1x1 conv per group, concat.

Block (``MixnetBlock``): expansion (if e != 1) to e x C_in + BN + act, MixConv / s + BN + act,
SE on the expanded tensor with squeeze max(1, int(C_in x se)) (the block's *input* width), biased
1x1 convs, act inside, sigmoid gate; grouped projection + BN; identity skip when s = 1 and
in = out. act = swish where the string says ``sw``, else ReLU. Stem conv 3x3/2 + BN + ReLU; head
conv 1x1 1536 + BN + ReLU (never multiplied), global pool, dropout 0.2, biased FC.

Depth multiplier (``round_filters``): make_divisible(c x m, 8) with the 10% guard, applied to the
stem and every block's i / o. MixNet-L is MixNet-M with m = 1.3; alpha multiplies m (alpha = 1:
the published networks), so ``mixnet_l --alpha 0.5`` uses m = 0.65 in one rounding.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

from ..blocks import squeeze_excite
from ..errors import SpecError
from ..graph import GraphBuilder
from ..ops import Split
from ..network import Network, register
from ..spec import Context, NetSpec, blk, block_type
from . import tpu_strings

SOURCE = "arXiv 1907.09595; tensorflow/tpu models/official/mnasnet/mixnet/mixnet_builder.py"

MIXNET_S = (  # mixnet_builder.mixnet_s, stem 16, head 1536
    "r1_k3_a1_p1_s11_e1_i16_o16",
    "r1_k3_a1.1_p1.1_s22_e6_i16_o24",
    "r1_k3_a1.1_p1.1_s11_e3_i24_o24",

    "r1_k3.5.7_a1_p1_s22_e6_i24_o40_se0.5_sw",
    "r3_k3.5_a1.1_p1.1_s11_e6_i40_o40_se0.5_sw",

    "r1_k3.5.7_a1_p1.1_s22_e6_i40_o80_se0.25_sw",
    "r2_k3.5_a1_p1.1_s11_e6_i80_o80_se0.25_sw",

    "r1_k3.5.7_a1.1_p1.1_s11_e6_i80_o120_se0.5_sw",
    "r2_k3.5.7.9_a1.1_p1.1_s11_e3_i120_o120_se0.5_sw",

    "r1_k3.5.7.9.11_a1_p1_s22_e6_i120_o200_se0.5_sw",
    "r2_k3.5.7.9_a1_p1.1_s11_e6_i200_o200_se0.5_sw",
)

MIXNET_M = (  # mixnet_builder.mixnet_m, stem 24, head 1536
    "r1_k3_a1_p1_s11_e1_i24_o24",
    "r1_k3.5.7_a1.1_p1.1_s22_e6_i24_o32",
    "r1_k3_a1.1_p1.1_s11_e3_i32_o32",

    "r1_k3.5.7.9_a1_p1_s22_e6_i32_o40_se0.5_sw",
    "r3_k3.5_a1.1_p1.1_s11_e6_i40_o40_se0.5_sw",

    "r1_k3.5.7_a1_p1_s22_e6_i40_o80_se0.25_sw",
    "r3_k3.5.7.9_a1.1_p1.1_s11_e6_i80_o80_se0.25_sw",

    "r1_k3_a1_p1_s11_e6_i80_o120_se0.5_sw",
    "r3_k3.5.7.9_a1.1_p1.1_s11_e3_i120_o120_se0.5_sw",

    "r1_k3.5.7.9_a1_p1_s22_e6_i120_o200_se0.5_sw",
    "r3_k3.5.7.9_a1_p1.1_s11_e6_i200_o200_se0.5_sw",
)

HEAD = 1536
DROPOUT = 0.2

def parse_block_string(text: str) -> dict:
    """Decode one block string as the official ``MixnetDecoder`` does (``tpu_strings``: the grammar
    MnasNet and EfficientNet share, with multi-kernel ``k3.5``, the ``a``/``p`` group counts and
    ``sw``). Returns plain values; raises SpecError naming the bad option."""
    return tpu_strings.decode(text, ("r", "k", "a", "p", "s", "e", "i", "o", "se", "sw", "noskip"),
                              ("r", "k", "a", "p", "s", "e", "i", "o"), "r1_k3.5_a1_p1_s11_e6_i24_o40", "MixNet")


def split_channels(total: int, groups: int) -> Tuple[int, ...]:
    """Official ``_split_channels``: ``total // groups`` each, the first takes the remainder."""
    if groups < 1 or total < groups:
        raise SpecError(f"cannot split {total} channels into {groups} groups")
    split = [total // groups] * groups
    split[0] += total - sum(split)
    return tuple(split)


def _scale(ctx: Context, c: int, depth: float) -> int:
    """round_filters(c, depth x alpha): make_divisible(c x depth x alpha, 8) (the spec's policy)."""
    return ctx.ch(c * depth) if depth != 1 else ctx.ch(c)


def split_conv(g: GraphBuilder, x: str, out: Optional[int], kernels: Sequence[int], stride=1,
               name: str = "conv") -> str:
    """Split-and-concat convolution (no BN): input split into len(kernels) parts (split_channels),
    part i convolved with kernel kernels[i] to part i of ``out`` channels (``out`` None: depthwise,
    MixConv), outputs concatenated. One part is a plain conv."""
    c_in = g.shape(x)[0]
    n = len(kernels)
    ins = split_channels(c_in, n)
    outs = ins if out is None else split_channels(out, n)
    if n == 1:
        return g.conv(x, outs[0], kernels[0], stride, groups=c_in if out is None else 1, bn=False, bias=False,
                      name=name)
    with g.scope(name):
        parts = g.outputs_of(g.add(Split(ins), x, "split"))
        ys = [g.conv(p, o, k, stride, groups=i if out is None else 1, bn=False, bias=False, name=f"k{k}_{j}")
              for j, (p, i, o, k) in enumerate(zip(parts, ins, outs, kernels))]
        return g.concat(ys, "concat")


def _bn_act(g: GraphBuilder, y: str, act: Optional[str], name: str) -> str:
    y = g.bn(y, f"{name}.bn")
    return g.act(y, act, f"{name}.{act}") if act else y


@block_type("mixconv")
def mixconv_block(g: GraphBuilder, x: str, ctx: Context, *, k=(3, 5, 7), s=1, c: Optional[int] = None,
                  act: Optional[str] = "relu", depth: float = 1.0) -> str:
    """MixConv (MixNet section 3) + BN + act: channels split with split_channels into len(k)
    groups, one k_i x k_i conv per group, concatenated. Without ``c`` the convs are depthwise;
    with ``c`` each group maps its input part to its part of c x depth x alpha outputs (the
    official GroupedConv2D; a single kernel is an ordinary conv, as MixNet's stem)."""
    k = (k,) if isinstance(k, int) else tuple(k)
    out = None if c is None else _scale(ctx, c, depth)
    return _bn_act(g, split_conv(g, x, out, k, s, "conv"), act, "conv")


@block_type("mixir")
def mixnet_block(g: GraphBuilder, x: str, ctx: Context, *, c: int, t: int = 6, k=(3,), a: int = 1, p: int = 1,
                 s=1, se: Optional[float] = None, act: str = "relu", skip: bool = True, depth: float = 1.0) -> str:
    """MixNet block (official MixnetBlock): grouped 1x1 expansion to t x C_in (the string's ``e``;
    if t != 1, ``a`` groups) + BN + act; MixConv with kernels k / s + BN + act; SE with squeeze
    max(1, int(C_in x se)), act inside, sigmoid gate; grouped 1x1 projection to c x depth x alpha
    (``p`` groups) + BN; identity skip when s = 1 and C_in = C_out."""
    c_in = g.shape(x)[0]
    k = (k,) if isinstance(k, int) else tuple(k)
    y = x
    if t != 1:
        y = _bn_act(g, split_conv(g, y, c_in * t, (1,) * a, 1, "expand"), act, "expand")
    y = _bn_act(g, split_conv(g, y, None, k, s, "dw"), act, "dw")
    if se:
        y = squeeze_excite(g, y, max(1, int(c_in * se)), act=act, gate="sigmoid")
    c_out = _scale(ctx, c, depth)
    y = _bn_act(g, split_conv(g, y, c_out, (1,) * p, 1, "project"), None, "project")
    stride = (s, s) if isinstance(s, int) else tuple(s)
    if skip and stride == (1, 1) and c_in == c_out:
        y = g.add_tensors([x, y], "add")
    return y


def build_spec(name: str, strings: Sequence[str], stem: int, depth: float = 1.0) -> NetSpec:
    """Parse the block strings into a spec; each string's i must be the previous o (the stem first)."""
    blocks = [blk("mixconv", c=stem, k=(3,), s=2, act="relu", depth=depth)]
    prev = stem
    for text in strings:
        b = parse_block_string(text)
        if b["i"] != prev:
            raise SpecError(f"{name}: block string {text!r} reads i{b['i']} but the previous output is {prev}")
        s = b["s"][0] if b["s"][0] == b["s"][1] else b["s"]
        args = dict(c=b["o"], t=b["e"], k=b["k"], a=b["a"], p=b["p"], s=s, act="swish" if b["swish"] else "relu")
        if b["se"]:
            args["se"] = b["se"]
        if not b["skip"]:
            args["skip"] = False
        if depth != 1:
            args["depth"] = depth
        blocks.append(blk("mixir", n=b["repeat"], **args))
        prev = b["o"]
    blocks += [blk("conv", c=HEAD, k=1, act="relu", width="fixed"), blk("gap"), blk("dropout", p=DROPOUT),
               blk("fc")]
    return NetSpec(name, tuple(blocks), width="divisible8", source=SOURCE, depth_rule="ceil")


def _register(name: str, strings, stem: int, depth: float, description: str):
    def spec(alpha: float = 1.0) -> NetSpec:
        return build_spec(name, strings, stem, depth)

    register(Network(name, "MixNet", spec, description, "arXiv 1907.09595",
                     alpha_help="depth multiplier (x the network's own; round_filters: make_divisible(c * m, 8))"))


_register("mixnet_s", MIXNET_S, 16, 1.0, "MixNet-S: mixed depthwise kernels (MixConv), official block strings")
_register("mixnet_m", MIXNET_M, 24, 1.0, "MixNet-M: mixed depthwise kernels (MixConv), official block strings")
_register("mixnet_l", MIXNET_M, 24, 1.3, "MixNet-L: MixNet-M with depth multiplier 1.3 (head not multiplied)")
