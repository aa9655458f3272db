"""MnasNet-A1, -B1 and -small (Tan et al. 2019, arXiv 1807.11626, Figure 7), from the official
block strings of tensorflow/tpu models/official/mnasnet/mnasnet_models.py, written here literally
and parsed; the same grammar and MBConv builder serve EfficientNet (``costmodel.zoo.efficientnet``).

Block string (``MnasNetDecoder`` / EfficientNet's ``BlockDecoder``): ``r`` repeats, ``k`` depthwise
kernel, ``s`` strides, ``e`` expansion ratio, ``i`` / ``o`` input / output filters, ``se`` SE ratio,
``noskip``. The first repeat takes the stride and i -> o, the others stride 1 and o -> o.

MBConv (``MnasBlock``, mnasnet_model.py): 1x1 expansion to round_filters(i) x e (omitted for
e = 1) + BN + ReLU, depthwise k x k / s + BN + ReLU, SE with squeeze max(1, int(round_filters(i)
x se)) (the block's *input* width; ReLU inside, sigmoid gate, biased 1x1 convs), 1x1 projection
+ BN, identity skip when the strides are 1, round_filters(i) equals round_filters(o) and there
is no ``noskip``.
Stem conv 3x3/2 round_filters(stem) + BN + ReLU; head conv 1x1 to 1280 + BN + ReLU (never
multiplied), global pool, dropout, biased FC.

Width multiplier alpha (TF's ``depth_multiplier``): ``round_filters`` = make_divisible(c x alpha,
8) with the 10% guard, applied to the stem and to every string's i and o.

MnasNet-small's first string reads i16 while the stem has 8 channels: the official model builds
the depthwise conv on the 8 stem channels and, since round_filters(16) != round_filters(8), no
skip for alpha > 0.555 (below, both round to 8 and it adds one; timm's port compares the real 8
and 8 and always adds it: an add, no parameters or Mult-Adds).

Two readings of MnasNet-B1 (knob ``impl``): ``tpu`` (the official code; torchvision's MNASNet,
version 2, is exactly this network, B1 having no SE) and ``torchvision_v1``: the checkpoints saved
by torchvision's first MNASNet version keep the stem conv at 32 and the first block's output at 16
for every alpha (``_load_from_state_dict`` patches the model so when it loads a version 1 state
dict). Both are equal at alpha 1.
"""
from __future__ import annotations

from typing import List, Sequence

from ..errors import SpecError
from ..network import Knob, Network, register
from ..rounding import divisible8
from ..spec import Block, NetSpec, blk
from . import tpu_strings

SOURCE = "arXiv 1807.11626 Figure 7; tensorflow/tpu models/official/mnasnet (mnasnet_models.py, mnasnet_model.py)"

MNASNET_A1 = (  # mnasnet_models.mnasnet_a1, stem 32, dropout 0.2
    "r1_k3_s11_e1_i32_o16_noskip", "r2_k3_s22_e6_i16_o24",
    "r3_k5_s22_e3_i24_o40_se0.25", "r4_k3_s22_e6_i40_o80",
    "r2_k3_s11_e6_i80_o112_se0.25", "r3_k5_s22_e6_i112_o160_se0.25",
    "r1_k3_s11_e6_i160_o320",
)
MNASNET_B1 = (  # mnasnet_models.mnasnet_b1, stem 32, dropout 0.2 (no SE: the paper's MnasNet-B search space)
    "r1_k3_s11_e1_i32_o16_noskip", "r3_k3_s22_e3_i16_o24",
    "r3_k5_s22_e3_i24_o40", "r3_k5_s22_e6_i40_o80", "r2_k3_s11_e6_i80_o96",
    "r4_k5_s22_e6_i96_o192", "r1_k3_s11_e6_i192_o320_noskip",
)
MNASNET_SMALL = (  # mnasnet_models.mnasnet_small, stem 8, dropout 0
    "r1_k3_s11_e1_i16_o8", "r1_k3_s22_e3_i8_o16",
    "r2_k3_s22_e6_i16_o16", "r4_k5_s22_e6_i16_o32_se0.25",
    "r3_k3_s11_e6_i32_o32_se0.25", "r3_k5_s22_e6_i32_o88_se0.25",
    "r1_k3_s11_e6_i88_o144",
)
HEAD = 1280

def parse_block_string(text: str) -> dict:
    """Decode one official MnasNet / EfficientNet block string (``r1_k3_s11_e1_i32_o16_se0.25``;
    the grammar in ``tpu_strings``). Returns ``{repeat, k, s: (sh, sw), e, i, o, se: float or None,
    skip: bool}``; raises SpecError naming the bad option."""
    b = tpu_strings.decode(text, ("r", "k", "s", "e", "i", "o", "se", "noskip"), ("r", "k", "s", "e", "i", "o"),
                           "r2_k3_s22_e6_i16_o24_se0.25")
    return {"repeat": b["repeat"], "k": b["k"][0], "e": b["e"], "i": b["i"], "o": b["o"], "s": b["s"],
            "se": b["se"], "skip": b["skip"]}


def mbconv_stages(name: str, strings: Sequence[str], stem: int, *, act: str, use_se: bool = True,
                  fixed_ends: bool = False, check_stem: bool = True, alpha: float = 1.0,
                  fixed_widths: Sequence[int] = ()) -> List[Block]:
    """One ``ir`` stage row per block string (repeat n = r, so the depth multiplier scales it),
    named ``stage1``, ``stage2``, ... (its blocks: ``stage2.0``, ``stage2.1``, ...).

    Skips: the official code adds the identity when the strides are 1, there is no ``noskip`` and
    round_filters(i) == round_filters(o) (MnasNet) or the real channels are equal (EfficientNet);
    while each string's i is the previous o both rules are ``ir``'s own (C_in == C_out). Each
    string's i must be the previous o, and the first one's the stem, unless not ``check_stem``:
    MnasNet-small's i16 after its 8-wide stem, where the rule is evaluated on the strings at
    ``alpha``. ``fixed_ends``: the first and last stages keep their repeats (EfficientNet-Lite's
    fix_head_stem). ``fixed_widths``: string positions whose o is not multiplied (torchvision's
    version 1 MNASNet)."""
    rows, prev = [], stem
    for pos, text in enumerate(strings):
        b = parse_block_string(text)
        args = {"t": b["e"], "c": b["o"], "k": b["k"], "s": b["s"][0] if b["s"][0] == b["s"][1] else b["s"],
                "act": act}
        if b["i"] != prev:
            if pos or check_stem:
                raise SpecError(f"{name}: block string {text!r} reads i{b['i']} but the previous output is {prev}")
            if b["repeat"] != 1:
                raise SpecError(f"{name}: block string {text!r} after a stem of {prev} must have r1")
            if divisible8(b["i"], alpha) != divisible8(b["o"], alpha):
                b["skip"] = False
        if b["se"] and use_se:
            args.update(se=b["se"], se_base="input", se_round=0, se_act=act)
        if not b["skip"]:
            args["residual"] = False
        if pos in fixed_widths:
            args["width"] = "fixed"
        ends = fixed_ends and pos in (0, len(strings) - 1)
        rows.append(blk("ir", n=b["repeat"], name=f"stage{pos + 1}", fixed_depth=ends, **args))
        prev = b["o"]
    return rows


IMPLS = ("tpu", "torchvision_v1")


def build_spec(name: str, strings: Sequence[str], stem: int, dropout: float, impl: str = "tpu",
               alpha: float = 1.0) -> NetSpec:
    """The MnasNet spec: stem, the parsed stages, the 1280 head (not multiplied), pool, dropout, FC."""
    v1 = impl == "torchvision_v1"
    blocks = [blk("conv", c=stem, k=3, s=2, act="relu", width="fixed" if v1 else "scaled", name="stem")]
    blocks += mbconv_stages(name, strings, stem, act="relu", check_stem=name != "mnasnet_small", alpha=alpha,
                            fixed_widths=(0,) if v1 else ())
    blocks += [blk("conv", c=HEAD, k=1, act="relu", width="fixed", name="head"), blk("gap")]
    if dropout:
        blocks.append(blk("dropout", p=dropout))
    blocks.append(blk("fc"))
    return NetSpec(name, tuple(blocks), width="divisible8", source=SOURCE)


def _register(name: str, strings, stem: int, dropout: float, description: str, impl_knob: bool = False):
    knobs = ()
    if impl_knob:
        knobs = (Knob("impl", "tpu", IMPLS,
                      "tpu = the official code (= torchvision's MNASNet version 2); torchvision_v1 = checkpoints "
                      "of torchvision's first version: stem 32 and first block 16 for every alpha"),)

    def spec(alpha: float = 1.0, impl: str = "tpu") -> NetSpec:
        return build_spec(name, strings, stem, dropout, impl, alpha)

    register(Network(name, "MnasNet", spec, description, "arXiv 1807.11626", knobs=knobs,
                     alpha_help="width multiplier (TF's depth_multiplier; make_divisible(c * alpha, 8))"))


_register("mnasnet_a1", MNASNET_A1, 32, 0.2, "MnasNet-A1: NAS MBConv blocks with SE (Figure 7), official block strings")
_register("mnasnet_b1", MNASNET_B1, 32, 0.2, "MnasNet-B1: the no-SE search space (torchvision's MNASNet)",
          impl_knob=True)
_register("mnasnet_small", MNASNET_SMALL, 8, 0.0, "MnasNet-small: official block strings (stem 8, no dropout)")
