"""Pooling op kinds: max, average, global and adaptive average pooling (``costmodel.ops``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Tuple, Union

from .errors import GraphError
from .ops_base import (Op, Padding, Shape, _is_int, _np, _pads, _pair, _require_map, _same_hw, _window_hw,  # noqa: F401
                       numel, resolve_padding, window_output)


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
