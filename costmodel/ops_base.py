"""The base of the op kinds (``costmodel.ops``): the ``Op`` contract, its categories, and the
integer shape helpers the kinds share (padding, sliding windows, their vectorized forms)."""
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
    t = type(v)
    if t is tuple and len(v) == 2 and type(v[0]) is int and type(v[1]) is int:
        return v  # already a pair of plain ints (the common case: built ops pass their own pairs on)
    if t is int:
        return (v, v)
    if _is_int(v):
        return (int(v), int(v))
    if not isinstance(v, (tuple, list)) or len(v) != 2 or not all(_is_int(x) for x in v):
        raise GraphError(f"{what} must be an int or a pair of ints, got {v!r}")
    return (int(v[0]), int(v[1]))


def _pads(padding) -> Padding:
    """Normalize padding to 'same', 'valid' or (top, bottom, left, right)."""
    if type(padding) is tuple and all(type(p) is int for p in padding):  # the common cases, fast
        if len(padding) == 4:
            return padding
        if len(padding) == 2:
            return (padding[0], padding[0], padding[1], padding[1])
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
    ceil-mode rule); 0 where the window does not fit. Without ceil mode and with fixed padding it
    is ``max(floor((size + p0 + p1 - d(k-1) - 1) / s) + 1, 0)`` in place (a shift for a power-of-two
    stride: an arithmetic shift floors negative spans too)."""
    np = _np()
    if not ceil_mode and type(pad[0]) is int and type(pad[1]) is int and size.dtype != object:
        span = size + (pad[0] + pad[1] - d * (k - 1) - 1)
        if s & (s - 1) == 0:
            np.right_shift(span, s.bit_length() - 1, out=span)
        else:
            np.floor_divide(span, s, out=span)
        span += 1
        return np.maximum(span, 0, out=span)
    span = size + pad[0] + pad[1] - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode:
        out = out - ((out - 1) * s >= size + pad[0])
    return np.where(span < 0, 0, out)


def _same_output_array(size, s: int):
    """TensorFlow SAME's output length over an array of input lengths: ceil(size / s) (0 stays 0)."""
    np = _np()
    if size.dtype == object:
        return -(-size // s)
    out = np.negative(size)
    if s & (s - 1) == 0:
        np.right_shift(out, s.bit_length() - 1, out=out)
    else:
        np.floor_divide(out, s, out=out)
    return np.negative(out, out=out)


def _window_hw(op, hw, d):
    """Vectorized output (H, W) of a sliding-window op (conv, pool) for arrays of input sizes. An
    axis with stride 1 whose padding spans the window, ``pad_lo + pad_hi = d (k - 1)`` ("same"
    included), keeps its sizes: the input's own array is returned (no arithmetic, and the sweep's
    memo then sees one array); a square map under a square window stays one array."""
    h, w = hw[0]
    ceil = getattr(op, "ceil_mode", False)

    def axis(size, i):
        k, s = op.kernel[i], op.stride[i]
        if s == 1 and _axis_pads(op.padding, i, k, d[i]) == d[i] * (k - 1):
            return size  # out = size + d(k-1) - d(k-1) - 1 + 1 (ceil mode changes nothing at stride 1)
        if op.padding == "same" and not ceil:  # out = ceil(size / s) whatever the window (resolve_padding)
            return _same_output_array(size, s)
        lo, hi = resolve_padding_array(size, k, s, d[i], op.padding, i)
        return window_output_array(size, k, s, d[i], (lo, hi), ceil)

    ho = axis(h, 0)
    if w is h and op.kernel[0] == op.kernel[1] and op.stride[0] == op.stride[1] and d[0] == d[1] and \
            (op.padding in ("same", "valid") or op.padding[0:2] == op.padding[2:4]):
        return ho, ho
    return ho, axis(w, 1)


def _axis_pads(padding, i: int, k: int = 1, d: int = 1) -> int:
    """Total padding of axis ``i`` at stride 1 ("same": d (k - 1); "valid": 0)."""
    if padding == "same":
        return d * (k - 1)
    if padding == "valid":
        return 0
    return padding[0] + padding[1] if i == 0 else padding[2] + padding[3]


def _same_hw(hw):
    """Inputs that must share H, W (add, concat): their H, W, or 0 where they differ."""
    np = _np()
    (h, w), rest = hw[0], hw[1:]
    if all(h2 is h and w2 is w for h2, w2 in rest):  # the same arrays: equal by construction
        return h, w
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


#: the methods ``Op.costs`` evaluates (with ``weights``, which params and bn_params sum)
_COST_METHODS = ("weights", "params", "bn_params", "madds", "flops", "attn_madds")


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
        if "costs" not in cls.__dict__ and any(m in cls.__dict__ for m in _COST_METHODS):
            cls.costs = Op.costs  # a kind changing a formula without its own ``costs`` gets the plain one

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

    def costs(self, ins, outs) -> Tuple[int, int, int, int, int]:
        """(params, bn_params, madds, flops, attn_madds) on these shapes, in one call (``Node.costs``
        keeps them per node). A kind may override it to evaluate its formulas together more cheaply
        (conv, BatchNorm, activation: the most frequent); tests/test_build_fast_paths.py checks every
        override against the five methods on every node of the zoo."""
        return (self.params(ins), self.bn_params(ins), self.madds(ins, outs), self.flops(ins, outs),
                self.attn_madds(ins, outs))

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
