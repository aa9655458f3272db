"""Op kinds with weights: convolution, linear, BatchNorm, and the element-wise activations
(``costmodel.ops`` lists every kind)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Tuple

from .errors import GraphError
from .ops_base import (Op, Padding, Shape, _is_int, _np, _pads, _pair, _require_map, _same_hw, _window_hw,  # noqa: F401
                       numel, resolve_padding, window_output)


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
        k, s, d = _pair(self.kernel, "kernel"), _pair(self.stride, "stride"), _pair(self.dilation, "dilation")
        pad = _pads(self.padding)
        set_ = object.__setattr__
        set_(self, "kernel", k)
        set_(self, "stride", s)
        set_(self, "dilation", d)
        set_(self, "padding", pad)
        for name, v in (("out_channels", self.out_channels), ("groups", self.groups)):
            if not isinstance(v, int) or v < 1:
                raise GraphError(f"conv2d {name} must be a positive integer, got {v!r}")
        for name, v in (("kernel", k), ("stride", s), ("dilation", d)):
            if v[0] < 1 or v[1] < 1:
                raise GraphError(f"conv2d {name} must be positive, got {v}")
        if not isinstance(pad, str) and min(pad) < 0:
            raise GraphError(f"conv2d padding must be non-negative, got {pad}")

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
        pad = self.padding
        t, b, left, r = pad if type(pad) is tuple else self.pads((h, w))  # explicit padding: pads() is itself
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

    def costs(self, ins, outs):
        """``Op.costs`` without the weights' dict: params = the weight's elements (+ C_out with bias),
        madds and flops as above."""
        c_out, (kh, kw) = self.out_channels, self.kernel
        per_group = ins[0][0] // self.groups
        o = numel(outs[0])
        madds = o * per_group * kh * kw
        if self.bias:
            return (c_out * per_group * kh * kw + c_out, 0, madds, 2 * madds + o, 0)
        return (c_out * per_group * kh * kw, 0, madds, 2 * madds, 0)

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

    def costs(self, ins, outs):
        """``Op.costs`` without the weights' dict: bn_params = 2C with the affine scale and shift."""
        c = ins[0][0]
        return (0, c + c if self.affine else 0, 0, 2 * numel(outs[0]), 0)


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

    def costs(self, ins, outs):
        """``Op.costs``: flops only."""
        return (0, 0, 0, ACTIVATION_FLOPS[self.fn] * numel(outs[0]), 0)

    def label(self, ins):
        return self.fn
