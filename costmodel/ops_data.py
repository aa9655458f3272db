"""Element-wise and data-movement op kinds: add, multiply, concat, split, channel shuffle, views,
dropout, upsample and the placeholder of an unsupported imported op (``costmodel.ops``)."""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import ClassVar, Tuple, Union

from .errors import GraphError
from .ops_base import (Op, Padding, Shape, _is_int, _np, _pads, _pair, _require_map, _same_hw, _window_hw,  # noqa: F401
                       numel, resolve_padding, window_output)


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
