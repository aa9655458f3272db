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
import reprlib
from typing import Optional, Sequence, Tuple

from .errors import KnobError

Resolution = Tuple[int, int]
#: the largest resolution side, class count and batch size accepted: far beyond any real input, and
#: small enough that every derived figure (products of counts, ratios, scaled units) stays within
#: floating point where it is printed as one (counts themselves are exact Python integers)
MAX_COUNT = 10 ** 60
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
        raise KnobError(f"{_prefix(where)}{what} must be a positive finite number, got {_short(v)}")
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
    if max(hw) > MAX_COUNT:
        raise KnobError(f"{_prefix(where)}resolution {_short(max(hw), 40)} is larger than 10^60, the largest side "
                        f"accepted")
    if min(hw) < min_res:
        raise KnobError(f"{_prefix(where)}resolution {format_res(hw)} is too small; this network needs at least "
                        f"{min_res}" + (" on each side" if hw[0] != hw[1] else ""))
    return hw


def parse_res(text: str, where: str = "--res"):
    """A command-line resolution: 'N' -> N, 'HxW' -> (H, W) (validated by ``resolution`` later)."""
    m = _HW_RE.match(str(text))
    t = str(text).strip()
    try:
        if m:
            return (int(m.group(1)), int(m.group(2)))
        if t.lstrip("-").isdigit():
            return int(t)
    except ValueError:  # more digits than Python converts (4300): no resolution is that large
        raise KnobError(f"{_prefix(where)}resolution {excerpt(t, 0, 30)} has too many digits; accepted: N or HxW "
                        f"with integers (e.g. 224 or 320x240)") from None
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


def _count(v, what: str, where: str) -> int:
    """A positive integer count up to ``MAX_COUNT`` (floats refused, even whole ones)."""
    n = _integral(v) if not isinstance(v, float) else None
    if n is None or n < 1:
        raise KnobError(f"{_prefix(where)}{what} must be a positive integer, got {_short(v)}")
    if n > MAX_COUNT:
        raise KnobError(f"{_prefix(where)}{what} {_short(n, 40)} is more than 10^60, the most accepted")
    return n


def classes(v, where: str = "") -> int:
    """Number of classes: a positive integer."""
    return _count(v, "classes", where)


def batch(v, where: str = "") -> int:
    """Batch size: a positive integer."""
    return _count(v, "batch size", where)


class _BoundedRepr(reprlib.Repr):
    """``reprlib`` limits (a few items per level, a few levels), applied to subclasses of the
    built-in containers too (the spec loader's line-numbered lists and mappings), and integers
    too long to print (Python's 4300-digit limit) described by their number of digits. Its cost
    does not depend on the size of the value: an alias-expanded YAML structure is never walked."""

    def __init__(self):
        super().__init__()
        self.maxlevel, self.maxlist, self.maxtuple, self.maxdict = 3, 6, 6, 4
        self.maxset = self.maxfrozenset = 6
        self.maxstring = self.maxother = 60
        self.maxlong = 40

    def repr1(self, x, level):
        if isinstance(x, int) and not isinstance(x, bool):
            return self.repr_int(x, level)
        for base in (str, list, tuple, dict, set, frozenset):
            if isinstance(x, base):
                return getattr(self, "repr_" + base.__name__)(x, level)
        return super().repr1(x, level)

    def repr_int(self, x, level):
        digits = int(abs(x).bit_length() * 0.30103) + 1
        if digits <= self.maxlong:
            return repr(int(x))
        return f"<an integer of about {digits:,} digits>"


_REPR = _BoundedRepr()


def short(v, limit: int = 60) -> str:
    """A value for an error message: a bounded repr (``_BoundedRepr``), cut to ``limit`` characters.
    Every error that quotes a value the user gave quotes it through here (or ``excerpt``), so that
    no input makes an error line long, or slow to build."""
    r = _REPR.repr(v)
    return r if len(r) <= limit else r[:limit - 3] + "..."


_short = short


def excerpt(text: str, pos: int = 0, width: int = 60) -> str:
    """A long string quoted as a window of ``width`` characters around 0-based ``pos``, with its
    length: "'...conv_c8 zz_k conv_c8...' (24,450 characters)"; a short one quoted whole."""
    text = str(text)
    if len(text) <= width:
        return repr(text)
    pos = min(max(int(pos), 0), len(text))
    start = max(0, min(pos - width // 3, len(text) - width))
    part = text[start:start + width]
    return (f"'{'...' if start else ''}{repr(part)[1:-1]}{'...' if start + width < len(text) else ''}' "
            f"({len(text):,} characters)")


def bounded(message: str, limit: int = 2000, word: int = 200) -> str:
    """A message cut to at most ``limit`` characters, each run of more than ``word`` non-blank
    characters shortened in the middle: the last line of defence (the CLI applies it to every
    error line) for a message that quotes a value it should have excerpted."""
    def cut(m):
        w = m.group(0)
        return f"{w[:word * 2 // 3]}...[{len(w) - word:,} characters]...{w[-word // 3:]}"
    msg = re.sub(r"\S{%d,}" % (word + 1), cut, message)
    return msg if len(msg) <= limit else msg[:limit - 40] + f"...[{len(msg) - limit + 40:,} characters cut]"
