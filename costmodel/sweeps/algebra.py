"""The sweep's symbolic algebra: ``Poly``, a linear polynomial in spatial variables whose
coefficients are exact integers or object arrays over channel configurations.

Every count of every op is a sum of terms ``channel factor x H_t W_t`` (H_t W_t the area of some
tensor t) plus a channel-only term (MobileNetV1 section 4, MobileNetV2 section 6.1: alpha acts on
channels only, the resolution on spatial sizes only). The ops' own cost formulas run unchanged on
shapes whose H is a ``Poly`` (W = 1): the result is the coefficient of each area variable. Only
what those formulas need is supported (+, -, * by a constant, // between constants, comparisons
between constants that agree over every configuration); anything else raises ``NotVectorizable``
and the sweep falls back to exact counts one configuration at a time.
"""
from __future__ import annotations


class NotVectorizable(TypeError):
    pass


class Poly:
    """A linear polynomial in spatial variables: ``{var: coef}`` (``None`` = constant term), each
    coefficient an int or an object array over channel configurations. Only what the ops' cost
    formulas need: +, -, *, // by constants; comparisons only between uniform constants."""

    __slots__ = ("t",)
    __array_ufunc__ = None  # numpy defers to our reflected operators
    __hash__ = None

    def __init__(self, t):
        self.t = t

    @staticmethod
    def of(x):
        if isinstance(x, Poly):
            return x
        if _is_num(x):
            return Poly({None: x})
        raise NotVectorizable(f"unsupported operand {type(x).__name__}")

    def const(self):
        if any(k is not None for k in self.t):
            raise NotVectorizable("a spatial size used in a non-linear way")
        return self.t.get(None, 0)

    def __add__(self, o):
        try:
            o = Poly.of(o)
        except NotVectorizable:
            return NotImplemented
        t = dict(self.t)
        _merge(t, o.t)
        return Poly(t)

    __radd__ = __add__

    def __neg__(self):
        return Poly({k: -v for k, v in self.t.items()})

    def __sub__(self, o):
        return self + (-Poly.of(o))

    def __rsub__(self, o):
        return Poly.of(o) + (-self)

    def __mul__(self, o):
        if type(o) is int:  # the usual case: a channel count or a kernel size
            return Poly({k: v * o for k, v in self.t.items()})
        if isinstance(o, Poly):
            if all(k is None for k in o.t):
                o = o.const()
            elif all(k is None for k in self.t):
                return o * self.const()
            else:
                raise NotVectorizable("a product of two spatial sizes")
        if not _is_num(o):
            return NotImplemented
        return Poly({k: v * o for k, v in self.t.items()})

    __rmul__ = __mul__

    def __floordiv__(self, o):
        return Poly({None: self.const() // Poly.of(o).const()})

    def __rfloordiv__(self, o):
        return Poly({None: Poly.of(o).const() // self.const()})

    def _cmp(self, o, fn):
        r = fn(self.const(), Poly.of(o).const())
        if hasattr(r, "all"):
            if r.all():
                return True
            if not r.any():
                return False
            raise NotVectorizable("a decision that differs between channel configurations")
        return bool(r)

    def __eq__(self, o):
        return self._cmp(o, lambda a, b: a == b)

    def __ne__(self, o):
        return not self == o

    def __lt__(self, o):
        return self._cmp(o, lambda a, b: a < b)

    def __le__(self, o):
        return self._cmp(o, lambda a, b: a <= b)

    def __gt__(self, o):
        return self._cmp(o, lambda a, b: a > b)

    def __ge__(self, o):
        return self._cmp(o, lambda a, b: a >= b)

    def __bool__(self):
        return self != 0


def add_into(t: dict, v) -> None:
    """``Poly(t) + v`` into ``t``'s own terms (a sum of many terms without a copy per addition;
    each term is replaced, never changed in place, so coefficient arrays stay unshared)."""
    if type(v) is int:
        if v:
            t[None] = t[None] + v if None in t else v
        return
    _merge(t, Poly.of(v).t)


def _merge(t: dict, terms: dict) -> None:
    for k, c in terms.items():
        t[k] = t[k] + c if k in t else c


def _is_num(x) -> bool:
    """An exact integer (not a bool) or an array of them: a coefficient. (Plain ints and arrays
    first: the abstract ``numbers.Integral`` check costs ten times more, and the symbolic
    preparation of a sweep asks about 300 times per layer.)"""
    t = type(x)
    if t is int or t is _ndarray():
        return True
    if t is bool:
        return False
    import numbers
    import numpy as np
    return isinstance(x, (numbers.Integral, np.ndarray))


def _ndarray():
    global _NDARRAY
    if _NDARRAY is None:
        import numpy as np
        _NDARRAY = np.ndarray
    return _NDARRAY


_NDARRAY = None


def batch_values(vals: list):
    """One value if all configurations agree, else an object array (exact Python ints)."""
    import numpy as np
    v0 = vals[0]
    if all(v == v0 for v in vals):
        return v0
    return np.array(vals, dtype=object)


__all__ = ["NotVectorizable", "Poly", "add_into", "batch_values"]
