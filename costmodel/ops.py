"""Op kinds of the graph IR: shape inference and per-op cost formulas in one place.

Tensors are feature maps of shape (C, H, W) or vectors of shape (F,), always at batch 1.
Every op is a frozen dataclass: its attributes are data, and pure integer functions give what
the calculators sum over a graph:

* ``infer(ins)``       -> tuple of output shapes (exact integer arithmetic, as the reference
                          implementations pad; an impossible shape raises ``GraphError``)
* ``weights(ins)``     -> {name: shape} of its learned parameters in PyTorch's layout (conv
                          ``weight`` (out, in/groups, kh, kw) and ``bias``; BatchNorm ``weight``
                          and ``bias``); ``buffers(ins)`` its other state (BatchNorm's running
                          statistics). The executor, ``init_weights`` and the torch bridge read these.
* ``params(ins)``      -> derived: the weights' elements for ops counted as parameters (conv,
                          linear: the papers' count), ``bn_params(ins)`` for BatchNorm's scale and
                          shift (added only in ``params_with_bn``); ``weight_count`` says which.
* ``madds(ins, outs)`` -> multiply-accumulates of conv and linear layers (the papers' Mult-Adds)
* ``flops(ins, outs)`` -> floating-point operations: 2 x madds plus every other arithmetic op,
                          with the per-element rule stated on each class (``flops_rule``) and in
                          the README.

Every op kind declares its ``category`` (conv, linear, norm, act, pool, eltwise, copy, view), which
the memory model's rules are keyed by: a class without one is an error when it is defined, so a
forgotten op can never count as a free view. ``ins`` and ``outs`` are tuples of shapes. Adding an
op kind means adding one class here, listing it in ``OP_KINDS``, and giving it an executor kernel
and a torch translation (a test checks all of it for every kind); calculators never special-case a
network.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, fields
from typing import ClassVar, Dict, Tuple, Union

from .errors import GraphError

Shape = Tuple[int, ...]
Padding = Union[str, Tuple[int, int, int, int]]


def numel(shape: Shape) -> int:
    """Number of elements of a tensor of this shape (batch 1)."""
    n = 1
    for d in shape:
        n *= d
    return n


def _is_int(v) -> bool:
    t = type(v)
    if t is int:  # fast path: the ABC check below is slow and builds call this for every attribute
        return True
    return t is not bool and isinstance(v, numbers.Integral)


def _pair(v, what: str) -> Tuple[int, int]:
    if _is_int(v):
        return (int(v), int(v))
    if not isinstance(v, (tuple, list)) or len(v) != 2 or not all(_is_int(x) for x in v):
        raise GraphError(f"{what} must be an int or a pair of ints, got {v!r}")
    return (int(v[0]), int(v[1]))


def _pads(padding) -> Padding:
    """Normalize padding to 'same', 'valid' or (top, bottom, left, right)."""
    if isinstance(padding, str):
        p = padding.lower()
        if p not in ("same", "valid"):
            raise GraphError(f"padding must be 'same', 'valid' or integers, got {padding!r}")
        return p
    if _is_int(padding):
        return (int(padding),) * 4
    if not isinstance(padding, (tuple, list)) or not all(_is_int(p) for p in padding):
        raise GraphError(f"padding must be 'same', 'valid' or integers, got {padding!r}")
    padding = tuple(int(p) for p in padding)
    if len(padding) == 2:
        return (padding[0], padding[0], padding[1], padding[1])
    if len(padding) == 4:
        return padding
    raise GraphError(f"padding must be an int, (ph, pw) or (top, bottom, left, right), got {padding!r}")


def resolve_padding(size: int, k: int, s: int, d: int, padding: Padding, axis: int) -> Tuple[int, int]:
    """Explicit (before, after) padding along one axis.

    'same' is TensorFlow's SAME: output = ceil(size / s), total padding
    max((out - 1) * s + (k - 1) * d + 1 - size, 0), the extra pixel after (bottom/right).
    """
    if padding == "valid":
        return (0, 0)
    if padding == "same":
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        return (total // 2, total - total // 2)
    return (padding[0], padding[1]) if axis == 0 else (padding[2], padding[3])


def window_output(size: int, k: int, s: int, d: int, pad: Tuple[int, int], ceil_mode: bool = False) -> int:
    """Output length of a sliding window: floor((size + p0 + p1 - d(k-1) - 1) / s) + 1.

    With ``ceil_mode`` (PyTorch pooling) the division rounds up, but a last window that would
    start inside the right padding is dropped, exactly as PyTorch does. Returns 0 or less when
    the window does not fit.
    """
    span = size + pad[0] + pad[1] - d * (k - 1) - 1
    if span < 0:
        return 0
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + pad[0]:
        out -= 1
    return out


def _np():
    import numpy  # imported lazily: only the vectorized sweep needs it
    return numpy


def resolve_padding_array(size, k: int, s: int, d: int, padding: Padding, axis: int):
    """``resolve_padding`` over an integer numpy array of input lengths (same formula)."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        out = -(-size // s)
        total = _np().maximum((out - 1) * s + (k - 1) * d + 1 - size, 0)
        return total // 2, total - total // 2
    return (padding[0], padding[1]) if axis == 0 else (padding[2], padding[3])


def window_output_array(size, k: int, s: int, d: int, pad, ceil_mode: bool = False):
    """``window_output`` over an integer numpy array of input lengths (same formula, same PyTorch
    ceil-mode rule); 0 where the window does not fit."""
    np = _np()
    span = size + pad[0] + pad[1] - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode:
        out = out - ((out - 1) * s >= size + pad[0])
    return np.where(span < 0, 0, out)


def _window_hw(op, hw, d):
    """Vectorized output (H, W) of a sliding-window op (conv, pool) for arrays of input sizes."""
    h, w = hw[0]
    ceil = getattr(op, "ceil_mode", False)
    t, b = resolve_padding_array(h, op.kernel[0], op.stride[0], d[0], op.padding, 0)
    left, r = resolve_padding_array(w, op.kernel[1], op.stride[1], d[1], op.padding, 1)
    return (window_output_array(h, op.kernel[0], op.stride[0], d[0], (t, b), ceil),
            window_output_array(w, op.kernel[1], op.stride[1], d[1], (left, r), ceil))


def _same_hw(hw):
    """Inputs that must share H, W (add, concat): their H, W, or 0 where they differ."""
    np = _np()
    (h, w), rest = hw[0], hw[1:]
    ok = True
    for h2, w2 in rest:
        ok = ok & (h2 == h) & (w2 == w)
    return np.where(ok, h, 0), np.where(ok, w, 0)


def _require_map(op: "Op", ins) -> Shape:
    (x,) = ins
    if len(x) != 3:
        raise GraphError(f"{op.kind} needs a (C, H, W) feature map, got shape {x}")
    return x


#: the op categories the memory model knows (docs/memory.md)
CATEGORIES = ("conv", "linear", "norm", "act", "pool", "eltwise", "copy", "view")


@dataclass(frozen=True)
class Op:
    """Base of all op kinds. Subclasses set ``kind``, ``category`` and ``flops_rule`` and override
    what they have (shape rule, weights, costs)."""

    kind: ClassVar[str] = "op"
    #: exact number of inputs, or None for "two or more" (add, concat)
    arity: ClassVar[Union[int, None]] = 1
    #: coarse class used by the memory model (``CATEGORIES``); required of every op kind
    category: ClassVar[str] = ""
    #: how the weights count: "params" (the papers' count) or "bn" (only in params_with_bn)
    weight_count: ClassVar[str] = "params"
    #: the FLOPs rule in words, as the README's table states it
    flops_rule: ClassVar[str] = ""

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if "kind" in cls.__dict__:  # a concrete op kind (abstract helpers such as _Pool set none)
            if cls.category not in CATEGORIES:
                raise TypeError(f"op kind {cls.kind!r} must declare its category, one of {', '.join(CATEGORIES)}")
            if not cls.flops_rule:
                raise TypeError(f"op kind {cls.kind!r} must state its FLOPs rule (flops_rule)")
            if cls.weight_count not in ("params", "bn"):
                raise TypeError(f"op kind {cls.kind!r}: weight_count must be 'params' or 'bn'")

    def infer(self, ins) -> Tuple[Shape, ...]:
        return (ins[0],)

    def out_hw(self, hw):
        """Vectorized spatial shape: ``hw`` holds one (H, W) pair of integer numpy arrays per input
        (one entry per input resolution); returns the (H, W) arrays of every output (0 where the op
        does not fit). Equal to ``infer``'s H, W wherever ``infer`` succeeds; vectors (flattened
        maps) carry the H, W of the map they came from. Default: the first input's."""
        return hw[0]

    def weights(self, ins) -> Dict[str, Shape]:
        """Learned parameters, name -> shape in PyTorch's layout (none by default)."""
        return {}

    def buffers(self, ins) -> Dict[str, Shape]:
        """Other state the op reads at inference, name -> shape (BatchNorm's running statistics)."""
        return {}

    def params(self, ins) -> int:
        """Elements of the weights, for ops counted as parameters (``weight_count == "params"``)."""
        return 0 if self.weight_count != "params" else sum(numel(s) for s in self.weights(ins).values())

    def bn_params(self, ins) -> int:
        """Elements of the weights, for ops counted only in params_with_bn (``weight_count == "bn"``)."""
        return 0 if self.weight_count != "bn" else sum(numel(s) for s in self.weights(ins).values())

    def madds(self, ins, outs) -> int:
        return 0

    def attn_madds(self, ins, outs) -> int:
        """Multiply-accumulates of products of activations with activations (attention's Q K^T and
        A V, ``ops_attention.MatMul``): a total of their own, never in ``madds``."""
        return 0

    def flops(self, ins, outs) -> int:
        return 0

    def label(self, ins) -> str:
        return self.kind

    def attrs(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def symbolic(cls, **attrs) -> "Op":
        """An op of this kind whose attributes are symbolic values (the sweep's batched channel
        counts): built without ``__post_init__``'s validation, which needs concrete integers. The
        one place such ops are made; the validated concrete op they stand for was built first."""
        op = cls.__new__(cls)
        for k, v in attrs.items():
            object.__setattr__(op, k, v)
        return op


# ----------------------------------------------------------------------------- conv / linear
@dataclass(frozen=True)
class Conv2d(Op):
    """2-D convolution with groups and dilation (depthwise is groups == C_in).

    madds = C_out * H_out * W_out * (C_in / groups) * k_h * k_w
    params = C_out * (C_in / groups) * k_h * k_w  (+ C_out with bias)
    flops = 2 * madds (+ C_out * H_out * W_out bias adds)
    """

    out_channels: int
    kernel: Tuple[int, int] = (1, 1)
    stride: Tuple[int, int] = (1, 1)
    padding: Padding = (0, 0, 0, 0)
    dilation: Tuple[int, int] = (1, 1)
    groups: int = 1
    bias: bool = False

    kind: ClassVar[str] = "conv2d"
    category: ClassVar[str] = "conv"
    flops_rule: ClassVar[str] = "2 x Mult-Adds, plus 1 per output element with a bias"

    def __post_init__(self):
        object.__setattr__(self, "kernel", _pair(self.kernel, "kernel"))
        object.__setattr__(self, "stride", _pair(self.stride, "stride"))
        object.__setattr__(self, "dilation", _pair(self.dilation, "dilation"))
        object.__setattr__(self, "padding", _pads(self.padding))
        for name in ("out_channels", "groups"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise GraphError(f"conv2d {name} must be a positive integer, got {v!r}")
        for name in ("kernel", "stride", "dilation"):
            if min(getattr(self, name)) < 1:
                raise GraphError(f"conv2d {name} must be positive, got {getattr(self, name)}")
        if not isinstance(self.padding, str) and min(self.padding) < 0:
            raise GraphError(f"conv2d padding must be non-negative, got {self.padding}")

    def pads(self, in_hw) -> Tuple[int, int, int, int]:
        """Explicit (top, bottom, left, right) padding for an input of this H, W."""
        t, b = resolve_padding(in_hw[0], self.kernel[0], self.stride[0], self.dilation[0], self.padding, 0)
        left, r = resolve_padding(in_hw[1], self.kernel[1], self.stride[1], self.dilation[1], self.padding, 1)
        return (t, b, left, r)

    def infer(self, ins):
        c, h, w = _require_map(self, ins)
        g = self.groups
        if c % g or self.out_channels % g:
            raise GraphError(
                f"groups={g} must divide both input channels ({c}) and output channels ({self.out_channels})"
            )
        t, b, left, r = self.pads((h, w))
        ho = window_output(h, self.kernel[0], self.stride[0], self.dilation[0], (t, b))
        wo = window_output(w, self.kernel[1], self.stride[1], self.dilation[1], (left, r))
        if ho < 1 or wo < 1:
            raise GraphError(
                f"kernel {self.kernel[0]}x{self.kernel[1]} (dilation {self.dilation[0]}) is larger than its "
                f"padded input {h + t + b}x{w + left + r}; use a larger resolution"
            )
        return ((self.out_channels, ho, wo),)

    def out_hw(self, hw):
        return _window_hw(self, hw, self.dilation)

    def weights(self, ins):
        w = {"weight": (self.out_channels, ins[0][0] // self.groups) + tuple(self.kernel)}
        return dict(w, bias=(self.out_channels,)) if self.bias else w

    def madds(self, ins, outs):
        c_in = ins[0][0]
        return numel(outs[0]) * (c_in // self.groups) * self.kernel[0] * self.kernel[1]

    def flops(self, ins, outs):
        return 2 * self.madds(ins, outs) + (numel(outs[0]) if self.bias else 0)

    def is_depthwise(self, c_in: int) -> bool:
        return self.groups == c_in and self.groups > 1

    def label(self, ins):
        c_in = ins[0][0]
        kh, kw = self.kernel
        name = "dwconv" if self.is_depthwise(c_in) else "conv"
        s = f"{name}{kh}x{kw}"
        if self.stride != (1, 1):
            s += f"/{self.stride[0]}" if self.stride[0] == self.stride[1] else f"/{self.stride[0]}x{self.stride[1]}"
        if 1 < self.groups and not self.is_depthwise(c_in):
            s += f" g{self.groups}"
        if self.dilation != (1, 1):
            s += f" d{self.dilation[0]}"
        return s


@dataclass(frozen=True)
class Linear(Op):
    """Fully connected layer on a vector: madds = F_in * F_out; params add F_out with bias;
    flops = 2 * madds (+ F_out bias adds)."""

    out_features: int
    bias: bool = True

    kind: ClassVar[str] = "linear"
    category: ClassVar[str] = "linear"
    flops_rule: ClassVar[str] = "2 x Mult-Adds, plus 1 per output with a bias"

    def infer(self, ins):
        (x,) = ins
        if len(x) != 1:
            raise GraphError(f"linear needs a flat vector input, got shape {x}; add a flatten first")
        if not isinstance(self.out_features, int) or self.out_features < 1:
            raise GraphError(f"linear out_features must be a positive integer, got {self.out_features!r}")
        return ((self.out_features,),)

    def out_hw(self, hw):
        h, _ = hw[0]
        return h * 0 + 1, h * 0 + 1

    def weights(self, ins):
        w = {"weight": (self.out_features, ins[0][0])}
        return dict(w, bias=(self.out_features,)) if self.bias else w

    def madds(self, ins, outs):
        return ins[0][0] * self.out_features

    def flops(self, ins, outs):
        return 2 * self.madds(ins, outs) + (self.out_features if self.bias else 0)


# ----------------------------------------------------------------------------- normalization
@dataclass(frozen=True)
class BatchNorm(Op):
    """Inference-form BatchNorm y = x * a + b per channel: params 0 (papers), bn_params 2C
    (scale and shift, as ``parameters()`` counts; moving statistics are buffers); flops 2/elem."""

    affine: bool = True

    kind: ClassVar[str] = "batchnorm"
    category: ClassVar[str] = "norm"
    weight_count: ClassVar[str] = "bn"
    flops_rule: ClassVar[str] = "2 per element (y = a x + b)"

    def weights(self, ins):
        c = (ins[0][0],)
        return {"weight": c, "bias": c} if self.affine else {}

    def buffers(self, ins):
        c = (ins[0][0],)
        return {"running_mean": c, "running_var": c}

    def flops(self, ins, outs):
        return 2 * numel(outs[0])


#: floating-point operations per element of each activation function
ACTIVATION_FLOPS = {
    "relu": 1,      # max(x, 0)
    "relu6": 2,     # min(max(x, 0), 6)
    "sigmoid": 4,   # 1 / (1 + exp(-x)): negate, exp, add, divide
    "swish": 5,     # x * sigmoid(x)
    "hsigmoid": 4,  # relu6(x + 3) / 6: add, max, min, multiply
    "hswish": 5,    # x * hsigmoid(x)
    "gelu": 5,      # 0.5 x (1 + erf(x / sqrt 2)): scale, erf, add, multiply, halve
}


@dataclass(frozen=True)
class Activation(Op):
    """Element-wise activation; flops per element from ``ACTIVATION_FLOPS``."""

    fn: str = "relu"

    kind: ClassVar[str] = "activation"
    category: ClassVar[str] = "act"
    flops_rule: ClassVar[str] = "per element: " + ", ".join(f"{k} {v}" for k, v in ACTIVATION_FLOPS.items())

    def __post_init__(self):
        if self.fn not in ACTIVATION_FLOPS:
            raise GraphError(f"unknown activation {self.fn!r}; accepted: {', '.join(ACTIVATION_FLOPS)}")

    def flops(self, ins, outs):
        return ACTIVATION_FLOPS[self.fn] * numel(outs[0])

    def label(self, ins):
        return self.fn


# ----------------------------------------------------------------------------- pooling
@dataclass(frozen=True)
class _Pool(Op):
    kernel: Tuple[int, int] = (2, 2)
    stride: Union[Tuple[int, int], None] = None
    padding: Padding = (0, 0, 0, 0)
    ceil_mode: bool = False

    category: ClassVar[str] = "pool"

    def __post_init__(self):
        object.__setattr__(self, "kernel", _pair(self.kernel, "kernel"))
        object.__setattr__(self, "stride", _pair(self.kernel if self.stride is None else self.stride, "stride"))
        object.__setattr__(self, "padding", _pads(self.padding))
        if min(self.kernel) < 1 or min(self.stride) < 1:
            raise GraphError(f"{self.kind} kernel and stride must be positive")

    def pads(self, in_hw):
        t, b = resolve_padding(in_hw[0], self.kernel[0], self.stride[0], 1, self.padding, 0)
        left, r = resolve_padding(in_hw[1], self.kernel[1], self.stride[1], 1, self.padding, 1)
        return (t, b, left, r)

    def infer(self, ins):
        c, h, w = _require_map(self, ins)
        t, b, left, r = self.pads((h, w))
        ho = window_output(h, self.kernel[0], self.stride[0], 1, (t, b), self.ceil_mode)
        wo = window_output(w, self.kernel[1], self.stride[1], 1, (left, r), self.ceil_mode)
        if ho < 1 or wo < 1:
            raise GraphError(
                f"{self.kind} window {self.kernel[0]}x{self.kernel[1]} is larger than its padded input "
                f"{h + t + b}x{w + left + r}; use a larger resolution"
            )
        return ((c, ho, wo),)

    def out_hw(self, hw):
        return _window_hw(self, hw, (1, 1))

    def label(self, ins):
        s = f"{self.kind}{self.kernel[0]}x{self.kernel[1]}"
        return s + (f"/{self.stride[0]}" if self.stride != (1, 1) else "")


@dataclass(frozen=True)
class MaxPool(_Pool):
    """Max pooling: flops = (k_h * k_w - 1) comparisons per output element."""

    kind: ClassVar[str] = "maxpool"
    flops_rule: ClassVar[str] = "k_h x k_w - 1 comparisons per output element"

    def flops(self, ins, outs):
        return (self.kernel[0] * self.kernel[1] - 1) * numel(outs[0])


@dataclass(frozen=True)
class AvgPool(_Pool):
    """Average pooling: flops = k_h * k_w per output element (k^2 - 1 adds and one divide)."""

    count_include_pad: bool = True
    kind: ClassVar[str] = "avgpool"
    flops_rule: ClassVar[str] = "k_h x k_w per output element (k^2 - 1 adds and a divide)"

    def flops(self, ins, outs):
        return self.kernel[0] * self.kernel[1] * numel(outs[0])


@dataclass(frozen=True)
class GlobalAvgPool(Op):
    """Global average pool (C, H, W) -> (C, 1, 1): flops = H * W per channel (adds and a divide)."""

    kind: ClassVar[str] = "global_avgpool"
    category: ClassVar[str] = "pool"
    flops_rule: ClassVar[str] = "H x W per channel (adds and a divide)"

    def infer(self, ins):
        c, h, w = _require_map(self, ins)
        return ((c, 1, 1),)

    def out_hw(self, hw):
        h, w = hw[0]
        ok = (h >= 1) & (w >= 1)
        return ok * 1, ok * 1

    def flops(self, ins, outs):
        return numel(ins[0])

    def label(self, ins):
        return "gap"


def adaptive_windows(size: int, out: int):
    """PyTorch's adaptive pooling windows along one axis: cell i covers
    [floor(i * size / out), ceil((i + 1) * size / out))."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


@dataclass(frozen=True)
class AdaptiveAvgPool(Op):
    """PyTorch ``AdaptiveAvgPool2d(size)`` (torchvision's VGG/AlexNet before the classifier):
    (C, H, W) -> (C, oh, ow), cell (i, j) averaging the windows of ``adaptive_windows``.
    flops = the window's area per output element (area - 1 adds and a divide), i.e.
    C * (sum of row-window lengths) * (sum of column-window lengths)."""

    size: Tuple[int, int] = (1, 1)

    kind: ClassVar[str] = "adaptive_avgpool"
    category: ClassVar[str] = "pool"
    flops_rule: ClassVar[str] = "the window's area per output element (PyTorch's windows)"

    def __post_init__(self):
        object.__setattr__(self, "size", _pair(self.size, "size"))
        if min(self.size) < 1:
            raise GraphError(f"adaptive_avgpool size must be positive, got {self.size}")

    def infer(self, ins):
        c, h, w = _require_map(self, ins)
        return ((c,) + self.size,)

    def out_hw(self, hw):
        h, w = hw[0]
        ok = (h >= 1) & (w >= 1)
        return ok * self.size[0], ok * self.size[1]

    def flops(self, ins, outs):
        c, h, w = ins[0]
        rows = sum(b - a for a, b in adaptive_windows(h, self.size[0]))
        cols = sum(b - a for a, b in adaptive_windows(w, self.size[1]))
        return c * rows * cols

    def label(self, ins):
        return f"adaptive_avgpool{self.size[0]}x{self.size[1]}"


# ----------------------------------------------------------------------------- element-wise
@dataclass(frozen=True)
class Add(Op):
    """Element-wise sum of two or more equal-shaped tensors: (n - 1) flops per output element."""

    kind: ClassVar[str] = "add"
    arity: ClassVar[Union[int, None]] = None
    category: ClassVar[str] = "eltwise"
    flops_rule: ClassVar[str] = "n - 1 per output element for n inputs"

    def infer(self, ins):
        if len(ins) < 2:
            raise GraphError("add needs at least two inputs")
        if any(s != ins[0] for s in ins):
            raise GraphError(f"add needs equal shapes, got {', '.join(map(str, ins))}")
        return (ins[0],)

    def out_hw(self, hw):
        return _same_hw(hw)

    def flops(self, ins, outs):
        return (len(ins) - 1) * numel(outs[0])


@dataclass(frozen=True)
class Multiply(Op):
    """Element-wise product with broadcasting of a (C, 1, 1) gate over (C, H, W), as SE does:
    1 flop per output element."""

    kind: ClassVar[str] = "multiply"
    arity: ClassVar[Union[int, None]] = 2
    category: ClassVar[str] = "eltwise"
    flops_rule: ClassVar[str] = "1 per output element"

    def infer(self, ins):
        a, b = ins
        if len(a) != len(b):
            raise GraphError(f"multiply needs inputs of the same rank, got {a} and {b}")
        out = []
        for x, y in zip(a, b):
            if x != y and 1 not in (x, y):
                raise GraphError(f"multiply cannot broadcast {a} with {b}")
            out.append(max(x, y))
        return (tuple(out),)

    def out_hw(self, hw):
        np = _np()
        (ha, wa), (hb, wb) = hw
        ok = ((ha == hb) | (ha == 1) | (hb == 1)) & ((wa == wb) | (wa == 1) | (wb == 1))
        return np.where(ok, np.maximum(ha, hb), 0), np.where(ok, np.maximum(wa, wb), 0)

    def flops(self, ins, outs):
        return numel(outs[0])


# ----------------------------------------------------------------------------- data movement
@dataclass(frozen=True)
class Concat(Op):
    """Channel concatenation of maps with equal H, W. No arithmetic."""

    kind: ClassVar[str] = "concat"
    arity: ClassVar[Union[int, None]] = None
    category: ClassVar[str] = "copy"
    flops_rule: ClassVar[str] = "0"

    def infer(self, ins):
        if len(ins) < 2:
            raise GraphError("concat needs at least two inputs")
        if any(len(s) != len(ins[0]) or s[1:] != ins[0][1:] for s in ins):
            raise GraphError(f"concat needs equal spatial sizes, got {', '.join(map(str, ins))}")
        return ((sum(s[0] for s in ins),) + tuple(ins[0][1:]),)

    def out_hw(self, hw):
        return _same_hw(hw)


@dataclass(frozen=True)
class Split(Op):
    """Channel split into consecutive parts of the given sizes; one output per part
    (referenced as ``node:0``, ``node:1``, ...). No arithmetic."""

    sizes: Tuple[int, ...] = ()

    kind: ClassVar[str] = "split"
    category: ClassVar[str] = "copy"
    flops_rule: ClassVar[str] = "0"

    def __post_init__(self):
        if not isinstance(self.sizes, (tuple, list)) or not all(_is_int(s) for s in self.sizes):
            raise GraphError(f"split sizes must be positive integers, got {self.sizes!r}")
        object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))
        if len(self.sizes) < 1 or min(self.sizes) < 1:
            raise GraphError(f"split sizes must be positive integers, got {self.sizes}")

    def infer(self, ins):
        (x,) = ins
        if sum(self.sizes) != x[0]:
            raise GraphError(f"split sizes {list(self.sizes)} must add up to the {x[0]} input channels")
        return tuple((s,) + tuple(x[1:]) for s in self.sizes)


@dataclass(frozen=True)
class ChannelShuffle(Op):
    """ShuffleNet channel shuffle: reshape (g, C/g), transpose, flatten. No arithmetic."""

    groups: int = 2

    kind: ClassVar[str] = "channel_shuffle"
    category: ClassVar[str] = "copy"
    flops_rule: ClassVar[str] = "0"

    def infer(self, ins):
        (x,) = ins
        if not _is_int(self.groups) or self.groups < 1 or x[0] % self.groups:
            raise GraphError(f"channel shuffle groups={self.groups} must divide the {x[0]} channels")
        return (x,)

    def label(self, ins):
        return f"shuffle g{self.groups}"


@dataclass(frozen=True)
class Flatten(Op):
    """(C, H, W) -> (C * H * W,). A view: no arithmetic."""

    kind: ClassVar[str] = "flatten"
    category: ClassVar[str] = "view"
    flops_rule: ClassVar[str] = "0"

    def infer(self, ins):
        return ((numel(ins[0]),),)


@dataclass(frozen=True)
class Unflatten(Op):
    """(F,) -> ``shape`` = (C, H, W) with C * H * W = F, in row-major order: PyTorch's
    ``y.view(N, C, 1, 1)`` of a vector, as a squeeze-and-excitation gate built from linear layers
    reshapes its (C,) output before the multiply. A view: no arithmetic."""

    shape: Tuple[int, int, int] = (1, 1, 1)

    kind: ClassVar[str] = "unflatten"
    category: ClassVar[str] = "view"
    flops_rule: ClassVar[str] = "0"

    def __post_init__(self):
        s = self.shape
        if not isinstance(s, (tuple, list)) or len(s) != 3 or not all(_is_int(d) and d >= 1 for d in s):
            raise GraphError(f"unflatten shape must be three positive integers (C, H, W), got {s!r}")
        object.__setattr__(self, "shape", tuple(int(d) for d in s))

    def infer(self, ins):
        (x,) = ins
        if len(x) != 1 or x[0] != numel(self.shape):
            raise GraphError(f"unflatten to {self.shape} needs a vector of {numel(self.shape)} features, got {x}")
        return (self.shape,)

    def out_hw(self, hw):
        h, _ = hw[0]
        return h * 0 + self.shape[1], h * 0 + self.shape[2]

    def label(self, ins):
        return "unflatten {}x{}x{}".format(*self.shape)


@dataclass(frozen=True)
class Dropout(Op):
    """Identity at inference."""

    p: float = 0.0
    kind: ClassVar[str] = "dropout"
    category: ClassVar[str] = "view"
    flops_rule: ClassVar[str] = "0 (identity at inference)"

    def __post_init__(self):
        p = self.p
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
            raise GraphError(f"dropout probability p must be a number with 0 <= p < 1, got {p!r}")


@dataclass(frozen=True)
class Upsample(Op):
    """Resize a map to ``size`` (H, W): bilinear costs 7 flops per output element
    (4 multiplies, 3 adds), nearest none."""

    size: Tuple[int, int] = (1, 1)
    mode: str = "bilinear"

    kind: ClassVar[str] = "upsample"
    category: ClassVar[str] = "copy"
    flops_rule: ClassVar[str] = "7 per output element (bilinear), 0 (nearest)"

    def __post_init__(self):
        object.__setattr__(self, "size", _pair(self.size, "size"))
        if self.mode not in ("bilinear", "nearest"):
            raise GraphError(f"upsample mode must be 'bilinear' or 'nearest', got {self.mode!r}")

    def infer(self, ins):
        c, _, _ = _require_map(self, ins)
        return ((c,) + self.size,)

    def out_hw(self, hw):
        h, _ = hw[0]
        return h * 0 + self.size[0], h * 0 + self.size[1]

    def flops(self, ins, outs):
        return 7 * numel(outs[0]) if self.mode == "bilinear" else 0


@dataclass(frozen=True)
class Unsupported(Op):
    """An imported op that costmodel does not model, kept only when the user asks for it
    (``--skip-unsupported``): identity on its first input, zero cost, labelled
    ``unsupported:<op_type>`` so that every table flags it. Never produced by the zoo."""

    op_type: str = ""
    outputs: int = 1

    kind: ClassVar[str] = "unsupported"
    arity: ClassVar[Union[int, None]] = None
    #: an alias of its input, zero cost, flagged in every table (the user asked for it)
    category: ClassVar[str] = "view"
    flops_rule: ClassVar[str] = "0 (not modelled; flagged unsupported:<op>)"

    def infer(self, ins):
        if not ins:
            raise GraphError(f"unsupported op {self.op_type} has no tensor input to pass through")
        return (ins[0],) * max(1, self.outputs)

    def label(self, ins):
        return f"unsupported:{self.op_type}"


OP_KINDS = {
    cls.kind: cls
    for cls in (Conv2d, Linear, BatchNorm, Activation, MaxPool, AvgPool, GlobalAvgPool, AdaptiveAvgPool, Add,
                Multiply,
                Concat, Split, ChannelShuffle, Flatten, Unflatten, Dropout, Upsample, Unsupported)
}


def op_table() -> str:
    """The README's table of op kinds: category (the memory model's rule), how weights count, FLOPs."""
    rows = ["| op kind | category | weights count in | FLOPs |", "|---|---|---|---|"]
    for kind, cls in OP_KINDS.items():
        counted = ("none" if cls.weights is Op.weights else
                   "params" if cls.weight_count == "params" else "params_with_bn only")
        rows.append(f"| `{kind}` | {cls.category} | {counted} | {cls.flops_rule} |")
    return "\n".join(rows) + "\n"


def make_op(kind: str, **attrs) -> Op:
    """Construct an op by kind name (used by spec files and importers)."""
    try:
        cls = OP_KINDS[kind]
    except KeyError:
        raise GraphError(f"unknown op kind {kind!r}; accepted: {', '.join(sorted(OP_KINDS))}") from None
    try:
        return cls(**attrs)
    except TypeError as e:
        raise GraphError(f"bad attributes for {kind}: {e}") from None


__all__ = ["Shape", "numel", "Op", "OP_KINDS", "CATEGORIES", "make_op", "ACTIVATION_FLOPS", "window_output",
           "resolve_padding", "window_output_array", "resolve_padding_array"] + [c.__name__ for c in OP_KINDS.values()]

