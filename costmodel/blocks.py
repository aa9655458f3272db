"""The generic block vocabulary shared by the zoo and spec files.

Each function adds one block's nodes to a ``GraphBuilder``. Channel arguments are the paper's
numbers; ``ctx.ch`` scales them by alpha with the network's rounding policy. Family-specific
blocks (ShuffleNet units, fire modules, mixed depthwise, ...) live with their family in
``costmodel/zoo/`` and register themselves the same way.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

from .errors import SpecError
from .graph import GraphBuilder
from .ops import AdaptiveAvgPool, AvgPool, Dropout, Flatten, GlobalAvgPool, Linear, MaxPool, Multiply
from .rounding import make_divisible
from .spec import Context, block_type


# ----------------------------------------------------------------------------- argument rules
def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _positive_int(v) -> bool:
    return _int(v) and v >= 1


def _positive_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def _ints(pred, pair: bool):
    """An int passing ``pred``, or a list of them (a pair (H, W) when ``pair``)."""
    def ok(v):
        if isinstance(v, (tuple, list)):
            return len(v) >= 1 and (not pair or len(v) == 2) and all(pred(x) for x in v)
        return pred(v)
    return ok


_POS = ("a positive integer", _positive_int)
_PAIR = ("a positive integer or a pair of them (H, W)", _ints(_positive_int, True))
_KERNEL = ("a positive integer or a list of them", _ints(_positive_int, False))
_RATIO = ("a positive number", _positive_number)
_UNIT = ("a ratio from 0 to 1", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1)
_PAD = ("a non-negative integer or a list of them", _ints(lambda x: _int(x) and x >= 0, False))

#: what the common block arguments mean and accept: checked where users write blocks (spec files and
#: block strings) before anything is built, so that an error names the argument the user wrote
#: (``e`` / ``t``) and its value instead of the layer it would have produced. Type-specific
#: arguments (uib's start_k, mixir's a and p, ...) are checked by their block.
ARG_RULES = {
    "c": ("output channels", _POS), "exp": ("expansion channels", _POS), "se_c": ("SE squeeze channels", _POS),
    "c1": ("channels", _POS), "c2": ("channels", _POS), "c3": ("channels", _POS), "c3r": ("channels", _POS),
    "c5": ("channels", _POS), "c5r": ("channels", _POS), "pp": ("channels", _POS),
    "s1x1": ("squeeze channels", _POS), "e1x1": ("1x1 expand channels", _POS),
    "e3x3": ("3x3 expand channels", _POS), "heads": ("attention heads", _POS),
    "key_dim": ("key dimension", _POS), "value_dim": ("value dimension", _POS),
    "t": ("expansion ratio", _RATIO), "e": ("expansion ratio", _RATIO), "expansion": ("expansion ratio", _RATIO),
    "k": ("kernel size", _KERNEL), "dw_k": ("depthwise kernel size", _KERNEL), "kernel": ("kernel size", _KERNEL),
    "s": ("stride", _PAIR), "kv_stride": ("key/value stride", _PAIR), "dilation": ("dilation", _PAIR),
    "groups": ("groups", _POS), "size": ("output size", _PAIR), "se": ("SE ratio", _UNIT),
    "padding": ("padding", _PAD),
}


def check_arg(key: str, value, shown: Optional[str] = None) -> Optional[str]:
    """None when ``value`` is acceptable for the common argument ``key`` (or ``key`` has no rule, or
    the value is None or not a number: types are checked elsewhere), else the message, naming the
    argument as the user wrote it (``shown``: a block string's ``e`` for ``t``)."""
    rule = ARG_RULES.get(key)
    if rule is None or value is None or isinstance(value, (str, bool)):
        return None
    if isinstance(value, (tuple, list)) and not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                    for x in value):
        return None
    meaning, (accepted, ok) = rule
    if ok(value):
        return None
    from .validate import short
    shown = key if shown is None else shown
    gloss = meaning if meaning == key or shown == key else f"{meaning} {key}"
    what = shown if gloss == shown else f"{shown} ({gloss})"
    return f"{what} must be {accepted}, got {short(value)}"


@block_type("conv")
def conv_block(g: GraphBuilder, x: str, ctx: Context, *, c: int, k=3, s=1, groups: int = 1, dilation=1,
               act: Optional[str] = "relu", bn: bool = True, bias: Optional[bool] = None, padding=None,
               width: str = "scaled") -> str:
    """Convolution k x k / s to c channels (+ BN) (+ activation). ``width``: scaled, fixed or grow."""
    return g.conv(x, ctx.ch(c, width), k, s, groups=groups, dilation=dilation, padding=padding, bias=bias,
                  bn=bn, act=act, name="")


@block_type("dwsep")
def depthwise_separable(g: GraphBuilder, x: str, ctx: Context, *, c: int, s=1, k=3, dilation=1,
                        act: Optional[str] = "relu", width: str = "scaled") -> str:
    """MobileNetV1 depthwise separable conv (paper Fig. 3): depthwise k x k / s + BN + act,
    pointwise 1x1 to c + BN + act. Mult-Adds: D_K^2 M D_F^2 + M N D_F^2 (paper eq. 5)."""
    y = g.dwconv(x, k, s, dilation=dilation, act=act, name="dw")
    return g.conv(y, ctx.ch(c, width), 1, act=act, name="pw")


def squeeze_excite(g: GraphBuilder, x: str, squeeze: int, *, act: str = "relu", gate: str = "sigmoid",
                   name: str = "se") -> str:
    """Squeeze-and-excite: global pool, 1x1 conv to ``squeeze`` (bias) + act, 1x1 conv back (bias)
    + gate, multiply the input by the (C, 1, 1) gate."""
    c = g.shape(x)[0]
    with g.scope(name):
        p = g.add(GlobalAvgPool(), x, "pool")
        h = g.conv(p, squeeze, 1, bn=False, bias=True, act=act, name="reduce")
        h = g.conv(h, c, 1, bn=False, bias=True, act=gate, name="expand")
        return g.add(Multiply(), [x, h], "scale")


#: what an ``ir`` block's SE ratio multiplies
SE_BASES = ("expansion", "input")


def se_squeeze(ratio: float, base: int, divisor: int) -> int:
    """SE squeeze width from a ratio: ``make_divisible(ratio x base, divisor)`` (nearest multiple,
    at least ``divisor``, +divisor if that lost more than 10%: MobileNetV3 with 8, GhostNet with
    4), or with ``divisor`` 0 ``max(1, int(ratio x base))`` (truncation: the official
    MnasNet/EfficientNet/MixNet code, ``num_reduced_filters = max(1, int(input_filters * se_ratio))``)."""
    if divisor:
        return make_divisible(base * ratio, divisor)
    return max(1, int(base * ratio))


@block_type("ir")
def inverted_residual(g: GraphBuilder, x: str, ctx: Context, *, c: int, t: Optional[float] = None,
                      exp: Optional[int] = None, s=1, k=3, dilation=1, act: str = "relu6", se: float = 0.0,
                      se_act: str = "relu", se_gate: str = "sigmoid", residual: bool = True,
                      width: str = "scaled", t_round: int = 0, se_c: Optional[int] = None,
                      se_base: str = "expansion", se_round: int = 8) -> str:
    """Inverted residual bottleneck (MobileNetV2 Table 1; MobileNetV3 ``bneck``; MnasNet and
    EfficientNet MBConv).

    Expansion width: ``t`` x input channels (V2; with ``t_round`` = d > 0 rounded as
    make_divisible(t x C_in, d), TF-slim's expand_input_by_factor) or ``exp`` scaled by alpha
    (V3 prints absolute widths); the 1x1 expansion conv is omitted when it equals the input width
    (V2's t = 1 block).
    Then depthwise k x k / s + BN + act, optional SE on the expanded tensor (global pool, biased
    1x1 conv to the squeeze width + ``se_act``, biased 1x1 conv back + ``se_gate``, multiply), 1x1
    linear projection + BN (no activation), identity shortcut when s == 1 and C_in == C_out.
    Mult-Adds h w d' t (d' + k^2 + d'') (V2 section 3.3) for a stride-1 block.

    SE squeeze width: ``se_c`` (an absolute width, scaled by alpha like ``c``) or the ratio ``se``
    of ``se_base`` channels (``expansion``, default, or the block's ``input``) rounded with
    ``se_round``: d > 0 make_divisible(se x base, d) (default 8: MobileNetV3, whose se 0.25 of 72
    channels is 24), 0 max(1, int(se x base)) (MnasNet/EfficientNet: se 0.25 of the input)."""
    c_in = g.shape(x)[0]
    if isinstance(se, bool) or not isinstance(se, (int, float)) or not 0 <= se <= 1:
        raise SpecError(f"ir se must be a ratio between 0 and 1 of the {se_base} channels, got {se!r}")
    if se and se_c is not None:
        raise SpecError(f"ir takes the SE squeeze as a ratio (se {se!r}) or a width (se_c {se_c!r}), not both")
    if se_base not in SE_BASES:
        raise SpecError(f"ir se_base must be one of {', '.join(SE_BASES)}, got {se_base!r}")
    if isinstance(se_round, bool) or not isinstance(se_round, int) or se_round < 0:
        raise SpecError(f"ir se_round must be a divisor >= 1, or 0 for max(1, int(se x channels)), got {se_round!r}")
    if (t is None) == (exp is None):
        raise SpecError("ir needs exactly one of t (expansion ratio) or exp (expansion channels)")
    if t is None:
        hidden = ctx.ch(exp, width)
    else:
        hidden = make_divisible(c_in * t, t_round) if t_round else int(round(c_in * t))
        if hidden < 1:
            raise SpecError(f"ir expansion ratio t {t!r} x {c_in} input channels rounds to {hidden} channels; the "
                            f"expansion needs at least 1")
    c_out = ctx.ch(c, width)
    y = x
    if hidden != c_in:
        y = g.conv(y, hidden, 1, act=act, name="expand")
    y = g.dwconv(y, k, s, dilation=dilation, act=act, name="dw")
    if se_c is not None:
        y = squeeze_excite(g, y, ctx.ch(se_c, width), act=se_act, gate=se_gate)
    elif se:
        y = squeeze_excite(g, y, se_squeeze(se, hidden if se_base == "expansion" else c_in, se_round),
                           act=se_act, gate=se_gate)
    y = g.conv(y, c_out, 1, act=None, name="project")
    stride = (s, s) if isinstance(s, int) else tuple(s)
    if residual and stride == (1, 1) and c_in == c_out:
        y = g.add_tensors([x, y], "add")
    return y


@block_type("pool")
def pool_block(g: GraphBuilder, x: str, ctx: Context, *, kind: str = "max", k=3, s=None, padding=0,
               ceil_mode: bool = False) -> str:
    """Max or average pooling k x k / s."""
    if kind not in ("max", "avg"):
        raise SpecError(f"pool kind must be 'max' or 'avg', got {kind!r}")
    op = (MaxPool if kind == "max" else AvgPool)(k, s, padding, ceil_mode)
    return g.add(op, x, "")


@block_type("adaptive_pool")
def adaptive_pool(g: GraphBuilder, x: str, ctx: Context, *, size=7) -> str:
    """Adaptive average pool to size x size (PyTorch AdaptiveAvgPool2d), whatever the input size."""
    return g.add(AdaptiveAvgPool(size), x, "")


@block_type("gap")
def global_pool(g: GraphBuilder, x: str, ctx: Context) -> str:
    """Global average pool to (C, 1, 1)."""
    return g.add(GlobalAvgPool(), x, "")


@block_type("dropout")
def dropout_block(g: GraphBuilder, x: str, ctx: Context, *, p: float = 0.0) -> str:
    """Dropout (identity at inference)."""
    return g.add(Dropout(p), x, "")


@block_type("flatten")
def flatten_block(g: GraphBuilder, x: str, ctx: Context) -> str:
    """Flatten a map to a vector."""
    return g.add(Flatten(), x, "")


@block_type("fc")
def fc_block(g: GraphBuilder, x: str, ctx: Context, *, c: Optional[int] = None, bias: bool = True,
             act: Optional[str] = None, width: str = "fixed") -> str:
    """Fully connected layer to c outputs (default: the ``classes`` knob); flattens a map first."""
    if len(g.shape(x)) != 1:
        x = g.add(Flatten(), x, "flatten")
    n = ctx.classes if c is None else ctx.ch(c, width)
    y = g.add(Linear(n, bias), x, "")
    return g.act(y, act)


@block_type("add", multi_input=True)
def add_block(g: GraphBuilder, xs: Sequence[str], ctx: Context, *, act: Optional[str] = None) -> str:
    """Element-wise sum of the named inputs (+ activation)."""
    return g.act(g.add_tensors(xs, "add"), act)


@block_type("concat", multi_input=True)
def concat_block(g: GraphBuilder, xs: Sequence[str], ctx: Context) -> str:
    """Channel concatenation of the named inputs."""
    return g.concat(xs, "concat")
