"""A sweep's axes: width multipliers, depth multipliers and resolutions (square N or H x W pairs),
parsed from the command line's lists and ranges, and held lazily so that a range of 10^7
resolutions costs nothing until a slice of it is asked for.

Lists and ranges: ``0.35:1.4:0.05`` (START:STOP:STEP, inclusive, exact decimal steps: no float
drift), ``0.5,0.75,1`` and mixtures (``128,160:192:16``). Resolutions also take ``HxW`` items
(``320x240,640x480``): a resolution axis of pairs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..errors import CostModelError

#: the most values one START:STOP:STEP range may have
RANGE_LIMIT = 10_000_000


def frange(spec: str, what: str = "alpha") -> List[float]:
    """Parse 'a,b,c' or 'start:stop:step' (inclusive stop, exact decimal steps: '0.35:1.4:0.05'
    gives 0.35, 0.4, ..., 1.4 with no float drift) into floats."""
    out: List[float] = []
    for part in _parts(spec, what):
        if isinstance(part, tuple):
            start, step, n = part
            out += [float(start + step * k) for k in range(n)]
        else:
            out.append(float(part))
    return out


def irange(spec: str, what: str = "resolution") -> List[int]:
    """Parse '128,160,224' or '96:224:32' (inclusive stop) into integers."""
    return list(res_axis(spec, pairs=False, what=what).values())


def res_axis(spec: str, pairs: bool = True, what: str = "resolution") -> "ResAxis":
    """A resolution axis from '96:224:32', '128,160', '320x240,640x480' (pairs with ``pairs``)."""
    segs: list = []
    for part in _parts(spec, what, pairs):
        if isinstance(part, tuple) and len(part) == 2:  # an HxW pair
            segs.append(("pairs", [part[0]], [part[1]]))
            continue
        if isinstance(part, tuple):
            start, step, n = part
            if start != start.to_integral_value() or step != step.to_integral_value():
                raise CostModelError(f"{what} values must be integers, got {start} step {step} in {spec!r}")
            segs.append(("range", int(start), int(step), n))
        else:
            if part != part.to_integral_value():
                raise CostModelError(f"{what} values must be integers, got {part} in {spec!r}")
            segs.append(("pairs", [int(part)], [int(part)]))
    return ResAxis.from_segments(segs)


def _parts(spec: str, what: str, pairs: bool = False):
    """Decimals, (start, step, count) ranges and, with ``pairs``, (H, W) tuples, in order."""
    from decimal import Decimal, InvalidOperation
    from ..validate import _HW_RE
    spec = str(spec).strip()
    out: list = []
    try:
        for part in spec.split(","):
            part = part.strip()
            m = _HW_RE.match(part) if pairs else None
            if m:
                out.append((int(m.group(1)), int(m.group(2))))
            elif ":" in part:
                bits = part.split(":")
                if len(bits) != 3:
                    raise ValueError
                start, stop, step = (Decimal(b) for b in bits)
                if not all(d.is_finite() for d in (start, stop, step)):
                    raise ValueError
                if not step > 0 or stop < start:
                    raise CostModelError(f"bad {what} range {part!r}: need START:STOP:STEP with STEP > 0 and "
                                         f"STOP >= START")
                n = int((stop - start) / step)
                if n > RANGE_LIMIT:
                    raise CostModelError(f"{what} range {part!r} has more than {RANGE_LIMIT:,} values")
                out.append((start, step, n + 1))
            else:
                d = Decimal(part)
                if not d.is_finite():
                    raise ValueError
                out.append(d)
    except CostModelError:  # a specific message (a ValueError too): keep it
        raise
    except (InvalidOperation, ValueError):
        example = {"alpha": "0.35:1.4:0.05", "depth": "1:3:0.2", "resolution": "96:224:32 or 320x240,640x480"}.get(
            what, "3,5,7 or 0.5:1.5:0.25")
        raise CostModelError(f"bad {what} list {spec!r}: expected comma-separated numbers or START:STOP:STEP "
                             f"(e.g. {example})") from None
    return out


@dataclass(frozen=True)
class ResAxis:
    """Resolutions in order: segments ``("range", start, step, count)`` (square N) or ``("pairs",
    [H...], [W...])``; ``slice(i, j)`` gives the (H, W) integer arrays of positions i..j-1."""

    segments: Tuple[tuple, ...]

    @classmethod
    def from_segments(cls, segs) -> "ResAxis":
        return cls(tuple((s[0], *(tuple(x) if isinstance(x, list) else x for x in s[1:])) for s in segs))

    @classmethod
    def of(cls, values) -> "ResAxis":
        """From a resolution, a list of N or (H, W) items, a range object or an integer array."""
        import numpy as np
        if isinstance(values, ResAxis):
            return values
        if isinstance(values, range):
            if values.step > 0 and len(values):
                return cls((("range", values.start, values.step, len(values)),))
            values = list(values)
        if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "iu":
            v = tuple(int(x) for x in values)
            return cls((("pairs", v, v),))
        if isinstance(values, (str, bytes, tuple)) or not hasattr(values, "__iter__"):
            values = [values]
        hs, ws = [], []
        for r in values:
            h, w = _hw(r)
            hs.append(h)
            ws.append(w)
        return cls((("pairs", tuple(hs), tuple(ws)),))

    def __len__(self) -> int:
        return sum(s[3] if s[0] == "range" else len(s[1]) for s in self.segments)

    @property
    def square(self) -> bool:
        return all(s[0] == "range" or s[1] == s[2] for s in self.segments)

    def values(self):
        """Every resolution, as N (square) or (H, W)."""
        for s in self.segments:
            if s[0] == "range":
                yield from range(s[1], s[1] + s[2] * s[3], s[2])
            else:
                for h, w in zip(s[1], s[2]):
                    yield h if h == w else (h, w)

    def slice(self, i: int, j: int):
        """(H, W) arrays of positions i..j-1: int64, or exact Python ints (object) from 2**62."""
        import numpy as np
        hs, ws, pos = [], [], 0
        for s in self.segments:
            n = s[3] if s[0] == "range" else len(s[1])
            a, b = max(i - pos, 0), min(j - pos, n)
            if a < b:
                if s[0] == "range":
                    lo, hi = s[1] + s[2] * a, s[1] + s[2] * (b - 1)
                    if max(abs(lo), abs(hi)) < 2 ** 62:
                        h = np.arange(lo, hi + 1, s[2], dtype=np.int64)
                    else:
                        h = np.array(list(range(lo, hi + 1, s[2])), dtype=object)
                    hs.append(h)
                    ws.append(h)
                else:
                    hs.append(_ints(s[1][a:b]))
                    ws.append(hs[-1] if s[1] == s[2] else _ints(s[2][a:b]))
            pos += n
        if len(hs) == 1:
            return hs[0], ws[0]
        if not hs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        obj = any(x.dtype == object for x in hs + ws)
        cat = (lambda xs: np.concatenate([x.astype(object) for x in xs])) if obj else np.concatenate
        return cat(hs), cat(ws)

    def extremes(self):
        """The positions of the smallest and the largest resolution by area, and the largest
        (H, W) of the axis (an upper bound of every side)."""
        best_lo = best_hi = None
        h_max = w_max = 0
        pos = 0
        for s in self.segments:
            if s[0] == "range":
                n = s[3]
                cands = [(pos, s[1]), (pos + n - 1, s[1] + s[2] * (n - 1))]
                cands = [(p, r, r) for p, r in cands]
            else:
                n = len(s[1])
                area = [h * w for h, w in zip(s[1], s[2])]
                lo = min(range(n), key=area.__getitem__)
                hi = max(range(n), key=area.__getitem__)
                cands = [(pos + lo, s[1][lo], s[2][lo]), (pos + hi, s[1][hi], s[2][hi])]
                h_max, w_max = max(h_max, max(s[1])), max(w_max, max(s[2]))
            for p, h, w in cands:
                h_max, w_max = max(h_max, h), max(w_max, w)
                if best_lo is None or h * w < best_lo[1] * best_lo[2]:
                    best_lo = (p, h, w)
                if best_hi is None or h * w > best_hi[1] * best_hi[2]:
                    best_hi = (p, h, w)
            pos += n
        return best_lo, best_hi, (h_max, w_max)

    def take(self, idx):
        """(H, W) arrays at the positions ``idx`` (an integer array, any order)."""
        import numpy as np
        idx = np.asarray(idx, dtype=np.int64)
        hs = np.zeros(len(idx), dtype=np.int64)
        ws = np.zeros(len(idx), dtype=np.int64)
        obj = False
        pos = 0
        for s in self.segments:
            n = s[3] if s[0] == "range" else len(s[1])
            m = (idx >= pos) & (idx < pos + n)
            if m.any():
                k = idx[m] - pos
                if s[0] == "range":
                    if abs(s[1]) + abs(s[2]) * n >= 2 ** 62:
                        obj = True
                        break
                    hs[m] = s[1] + s[2] * k
                    ws[m] = hs[m]
                else:
                    h, w = _ints(s[1]), _ints(s[2])
                    if h.dtype == object or w.dtype == object:
                        obj = True
                        break
                    hs[m], ws[m] = h[k], w[k]
            pos += n
        if obj:  # exact Python ints, one at a time
            pairs = [self.at(int(k)) for k in idx]
            return np.array([p[0] for p in pairs], dtype=object), np.array([p[1] for p in pairs], dtype=object)
        return hs, ws

    def at(self, k: int):
        """The (H, W) at position k."""
        h, w = self.slice(k, k + 1)
        return int(h[0]), int(w[0])


def _ints(v):
    """int64 when every value is below 2**62 in magnitude, else exact Python ints (object)."""
    import numpy as np
    try:
        a = np.array(v, dtype=np.int64)
    except OverflowError:
        return np.array(list(v), dtype=object)
    if a.size and max(-int(a.min()), int(a.max())) >= 2 ** 62:
        return np.array(list(v), dtype=object)
    return a


def _hw(r) -> Tuple[int, int]:
    """N or (H, W) (or 'HxW') as a pair of ints; validity is ``validate.resolution``'s job."""
    from .. import validate
    if isinstance(r, str):
        r = validate.parse_res(r, "resolution")
    if isinstance(r, (tuple, list)) and len(r) == 2:
        return _int(r[0]), _int(r[1])
    v = _int(r)
    return v, v


def _int(v) -> int:
    import numbers
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        raise CostModelError(f"a resolution must be an integer N or a pair (H, W), got {v!r:.60}")
    return int(v)


def float_axis(values, what: str) -> Optional[List[float]]:
    """A list of alpha or depth values (a single number is a one-value axis; a string is parsed
    as a list or range); None stays None."""
    if values is None:
        return None
    if isinstance(values, (str, bytes)):
        return frange(values if isinstance(values, str) else values.decode(), what)
    if not hasattr(values, "__iter__"):
        return [values]
    return list(values)


__all__ = ["RANGE_LIMIT", "ResAxis", "float_axis", "frange", "irange", "res_axis"]
