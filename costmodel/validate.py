"""The one set of validators for what every input kind shares: width multiplier alpha, depth
multiplier, input resolution (square N or H x W), classes and batch size.

Each takes the value and ``where`` (the network, file or flag the value belongs to) and returns
the normalized value or raises a ``KnobError`` of one line: what is wrong, where, and what is
accepted. The registry, spec files, block strings, ONNX and PyTorch importers and the CLI all call
these; nothing re-checks them downstream.
"""
from __future__ import annotations

import math
import numbers
import re
from typing import Optional, Sequence, Tuple

from .errors import KnobError

Resolution = Tuple[int, int]
_HW_RE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def _integral(v) -> Optional[int]:
    """``v`` as an int if it is an integer (or an integral float), else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return int(v)
    return None


def positive_real(v, what: str, where: str = "") -> float:
    """A positive finite number (alpha, depth); strings are not numbers here (the CLI converts)."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v <= 0:
        raise KnobError(f"{_prefix(where)}{what} must be a positive finite number, got {v!r}")
    return float(v)


def alpha(v, where: str = "", accepted: Optional[Sequence[float]] = None) -> float:
    """Width multiplier: a positive finite number; one of ``accepted`` when the network defines a
    fixed set (returned as the set's own value, so 1.5000000001 reads as 1.5)."""
    a = positive_real(v, "alpha", where)
    if accepted is not None:
        for x in accepted:
            if math.isclose(a, x):
                return x
        raise KnobError(f"{_prefix(where)}alpha {a:g} is not defined for this network; accepted: "
                        f"{', '.join(f'{x:g}' for x in accepted)}")
    return a


def depth(v, where: str = "") -> float:
    """Depth multiplier (stage repeats n -> the network's repeat rule of d x n): positive, finite."""
    return positive_real(v, "depth multiplier", where)


def resolution(v, where: str = "", min_res: int = 1) -> Resolution:
    """Input resolution as (H, W): an integer N (square) or a pair (H, W) of integers (``parse_res``
    reads the command line's 'N' and 'HxW'). Each side at least ``min_res``."""
    hw = None
    if isinstance(v, (tuple, list)):
        if len(v) == 2 and all(_integral(x) is not None for x in v):
            hw = (_integral(v[0]), _integral(v[1]))
    elif _integral(v) is not None:
        hw = (_integral(v),) * 2
    if hw is None or (min(hw) < 1 and min_res <= 1):
        raise KnobError(f"{_prefix(where)}resolution must be a positive integer, got {_short(v)}; accepted: N or "
                        f"HxW (e.g. 224 or 320x240)")
    if min(hw) < min_res:
        raise KnobError(f"{_prefix(where)}resolution {format_res(hw)} is too small; this network needs at least "
                        f"{min_res}" + (" on each side" if hw[0] != hw[1] else ""))
    return hw


def parse_res(text: str, where: str = "--res"):
    """A command-line resolution: 'N' -> N, 'HxW' -> (H, W) (validated by ``resolution`` later)."""
    m = _HW_RE.match(str(text))
    if m:
        return (int(m.group(1)), int(m.group(2)))
    t = str(text).strip()
    if t.lstrip("-").isdigit():
        return int(t)
    raise KnobError(f"{_prefix(where)}resolution must be N or HxW with integers (e.g. 224 or 320x240), "
                    f"got {_short(text)}")


def format_res(hw) -> str:
    """'224' for a square input, '320x240' otherwise."""
    h, w = hw
    return f"{h}" if h == w else f"{h}x{w}"


def res_value(hw):
    """How a resolution appears in JSON and tables: the side for a square input, [H, W] otherwise."""
    h, w = hw
    return h if h == w else [h, w]


def classes(v, where: str = "") -> int:
    """Number of classes: a positive integer."""
    c = _integral(v) if not isinstance(v, float) else None
    if c is None or c < 1:
        raise KnobError(f"{_prefix(where)}classes must be a positive integer, got {_short(v)}")
    return c


def batch(v, where: str = "") -> int:
    """Batch size: a positive integer."""
    b = _integral(v) if not isinstance(v, float) else None
    if b is None or b < 1:
        raise KnobError(f"{_prefix(where)}batch size must be a positive integer, got {_short(v)}")
    return b


def _short(v, limit: int = 60) -> str:
    """A value for an error message: its repr, cut to ``limit`` characters."""
    r = repr(v)
    return r if len(r) <= limit else r[:limit - 3] + "..."
