"""The exact products of the sweep, per structure (``engine.py`` cuts the grid into chunks):
a structure's coefficient matrices (``structure_of``: every count as a sum over the spatial
variables of a coefficient times an area, plus a constant), its areas over a slice of input
sizes (``spatial``) and their product (``totals``): float64 (BLAS) where a bound proves every
partial sum below 2**53, int64 below 2**62, exact Python integers beyond."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

from .algebra import NotVectorizable
from .structure import COUNT_KEYS, INT64_BOUND, SpatialModel, areas, coefficients, matrix, merge

FLOAT_EXACT = 2 ** 53


@dataclass
class Structure:
    model: SpatialModel
    reps: list
    members: List[List[int]]
    mats: Dict[str, tuple] = field(default_factory=dict)  #: key -> (C object G x V, const object G)
    bound: Dict[str, int] = field(default_factory=dict)   #: key -> bound on |total| over the grid
    area_max: list = field(default_factory=list)
    merged: Dict[tuple, tuple] = field(default_factory=dict)


# ----------------------------------------------------------------------------- per structure
class Areas:
    """A structure's merged spatial variables over a slice of input sizes: per row the (H, W)
    arrays whose product is its area (``rows``), or ``Sobj``, exact Python-int areas, where an
    area reaches 2**62; ``vmax`` a bound per row, ``groups`` the fine variables of each merged one
    (rows first, then the ``ones``: groups whose areas are all 1, folded into the constant term).
    ``s64()`` and ``f64()`` are the area matrix (rows x resolutions) as int64 and float64, each
    made once when first asked for (float64 is exact wherever the float product is used: there
    the areas that count are below 2**53)."""

    __slots__ = ("rows", "n", "Sobj", "vmax", "groups", "ones", "_i", "_f", "transient")

    def __init__(self, rows, n, Sobj, vmax, groups, ones):
        self.rows, self.n, self.Sobj, self.vmax, self.groups, self.ones = rows, n, Sobj, vmax, groups, ones
        self._i = self._f = None
        self.transient = False  #: used once (not cached): the matrices go in this thread's reused buffers

    @property
    def exact(self) -> bool:
        return self.Sobj is not None

    def nbytes(self) -> int:
        return self.Sobj.nbytes if self.exact else 16 * len(self.rows) * self.n

    def s64(self):
        if self._i is None:
            self._i = self._product(None)
        return self._i

    def f64(self):
        if self._f is None:
            self._f = self._product(float)
        return self._f

    def _product(self, dtype):
        import numpy as np
        shape = (len(self.rows), self.n)
        if self.transient:
            S = _scratch(shape[0] * shape[1], "areas_f" if dtype else "areas_i", dtype or np.int64).reshape(shape)
        else:
            S = np.empty(shape, dtype=dtype or np.int64)
        for i, (a, b) in enumerate(self.rows):
            np.multiply(a, b, out=S[i], dtype=dtype)
        return S


def spatial(st: Structure, h, w, name: str = "", ev=None):
    """(``Areas``, vanishing mask) of structure ``st`` over the input sizes (h, w). Fine variables
    that share their (H, W) arrays share a row (the shape model returns one array for equal
    sizes, so rows are few); ``ev``: ``st.model.evaluate(h, w)`` if done."""
    hs, ws, bad = ev if ev is not None else st.model.evaluate(h, w)
    pairs: Dict[tuple, list] = {}
    for v, (a, b) in enumerate(zip(hs, ws)):
        pairs.setdefault((id(a), id(b)), [a, b, []])[2].append(v)
    n = len(h)
    big = False
    for entry in pairs.values():
        a, b, fine = entry
        if a.dtype == object or b.dtype == object:
            big = True
        hm = int(a.max()) if n else 0
        wm = hm if b is a else (int(b.max()) if n else 0)
        if hm * wm > min(st.area_max[v] for v in fine):  # the bound's premise: sizes grow with the input
            raise RuntimeError(f"sweep: a spatial size of {name} exceeds its bound at the largest input")
        big = big or hm * wm >= INT64_BOUND
        entry.append(hm * wm)
    if big:
        return _spatial_exact(hs, ws), bad
    rows, groups, vmax, ones = [], [], [], []
    for a, b, fine, vm in pairs.values():
        if vm == 1 and n and int(a.min()) == 1 and int(b.min()) == 1:
            ones.append(fine)
        else:
            rows.append((a, b))
            groups.append(fine)
            vmax.append(vm)
    return Areas(rows, n, None, vmax, groups + ones, tuple(range(len(groups), len(groups) + len(ones)))), bad


def _spatial_exact(hs, ws):
    """``Areas`` with exact Python-int areas (a side or an area reaches 2**62)."""
    import numpy as np
    vals = areas(hs, ws)
    groups, arrs = merge(vals)
    ones = tuple(i for i, a in enumerate(arrs) if a is None)
    keep = [a for a in arrs if a is not None]
    vmax = [int(a.max()) if len(a) else 0 for a in keep]
    n = len(hs[0]) if hs else 0
    S = np.array([a.astype(object) for a in keep], dtype=object) if keep else np.zeros((0, n), dtype=object)
    return Areas([], n, S, vmax, groups, ones)


_SCRATCH = None


def _scratch(size: int, name: str = "product", dtype=float):
    """A buffer of ``size`` elements reused by this thread under ``name`` (a fresh array per chunk
    costs its page faults every time)."""
    import threading
    import numpy as np
    global _SCRATCH
    if _SCRATCH is None:
        _SCRATCH = threading.local()
    buf = getattr(_SCRATCH, name, None)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype=dtype)
        setattr(_SCRATCH, name, buf)
    return buf[:size]


def totals(st: Structure, sp: Areas, jrows, keys):
    """Per key the (len(jrows) x resolutions) totals of rows ``jrows`` of the structure's matrices,
    each key the cheapest exact way: a key without spatial terms is its constant (a broadcast
    view); keys whose bound is below 2**53 share one float64 product (BLAS; exact, returned as
    views of a buffer the next call reuses: copy or use them first); keys below 2**62 an int64
    product; the rest exact Python integers."""
    import numpy as np
    n = sp.n
    sig = (tuple(map(tuple, sp.groups)), sp.ones, tuple(keys))
    m = st.merged.get(sig)
    if m is None:
        m = st.merged[sig] = _merge_cols(st.mats, sp.groups, sp.ones, list(keys))
    _, (Cm, const), colmax, constmax, C64, cf = m
    J = len(jrows)
    out: List = [None] * len(keys)
    fast = []
    for i in range(len(keys)):
        bound = sum(colmax[i][v] * sp.vmax[v] for v in range(len(sp.vmax))) + constmax[i]
        if not any(colmax[i]):  # no spatial term: the constant, the same at every resolution
            c = C64[1][i][jrows] if C64[1][i] is not None else const[i][jrows]
            out[i] = np.broadcast_to(c[:, None], (J, n))
        elif not sp.exact and cf[i] is not None and bound < FLOAT_EXACT:
            fast.append(i)
        elif not sp.exact and C64[0][i] is not None and bound < INT64_BOUND:
            out[i] = C64[0][i][jrows] @ sp.s64() + C64[1][i][jrows][:, None]
        else:
            Sx = sp.Sobj if sp.exact else sp.s64().astype(object)
            T = Cm[i][jrows].dot(Sx) if Sx.shape[0] else np.zeros((J, n), dtype=object)
            T = T + const[i][jrows][:, None]
            out[i] = np.array(T, dtype=np.int64) if bound < INT64_BOUND else T
    if fast:
        K = len(fast)
        A = np.stack([cf[i][jrows] for i in fast]).reshape(K * J, -1)
        T = _scratch(K * J * n).reshape(K * J, n)
        np.matmul(A, sp.f64(), out=T)
        T = T.reshape(K, J, n)
        T += np.stack([C64[1][i][jrows] for i in fast])[:, :, None]
        for t, i in zip(T, fast):
            out[i] = t
    return out


def structure_of(reps, members, unfused: bool, zero_copy: bool, hw_max, model=None) -> Structure:
    """A structure's spatial model (``model``, when the caller has made it for ``reps[0]``: it is
    not made again), coefficient matrices and bounds over inputs up to ``hw_max`` (raises
    NotVectorizable when the counts are not sums of products)."""
    model = SpatialModel(reps[0]) if model is None else model
    st = Structure(model, reps, members)
    try:
        accs = [coefficients(reps, model.var_of, model.hw0, unfused, zero_copy)]
    except NotVectorizable:  # a decision that differs between configurations: one at a time
        accs = [coefficients([g], model.var_of, model.hw0, unfused, zero_copy) for g in reps]
    for key in COUNT_KEYS:
        st.mats[key] = _stack([matrix(a[key], len(reps) if len(accs) == 1 else 1, model.n_vars) for a in accs])
    hs, ws, _ = model.evaluate(*_arrays([hw_max]))
    st.area_max = [int(a[0]) for a in areas(hs, ws)]
    for key in COUNT_KEYS:
        C, const = st.mats[key]
        st.bound[key] = sum(_absmax(C[:, v]) * st.area_max[v] for v in range(model.n_vars)) + _absmax(const)
    return st


# ----------------------------------------------------------------------------- helpers
def _arrays(hws):
    import numpy as np
    hs = [h for h, _ in hws]
    ws = [w for _, w in hws]
    big = max(max(hs), max(ws)) >= 2 ** 62
    dt = object if big else np.int64
    return np.array(hs, dtype=dt), np.array(ws, dtype=dt)


def _absmax(x) -> int:
    if not hasattr(x, "__len__"):
        return abs(int(x))
    return max((abs(int(v)) for v in x), default=0)


def _stack(mats):
    import numpy as np
    if len(mats) == 1:
        return mats[0]
    return np.concatenate([m[0] for m in mats]), np.concatenate([m[1] for m in mats])


def _merge_cols(mats, groups, ones, keys):
    """Per key the coefficients of the merged variables (sums of the fine columns; the all-ones
    groups folded into the constant), their maxima, and int64 / float64 copies where they fit:
    (keys, (C objects, constants), column maxima, constant maxima, (C int64, const int64), C float64),
    the int64 and float64 copies per key, None for a key whose coefficients pass 2**62."""
    import numpy as np
    Cs, consts = [], []
    for key in keys:
        C, const = mats[key]
        G = C.shape[0]
        Cm = np.zeros((G, len(groups) - len(ones)), dtype=object)
        const = const.copy()
        j = 0
        for i, grp in enumerate(groups):
            col = C[:, grp].sum(axis=1)
            if i in ones:
                const = const + col
            else:
                Cm[:, j] = col
                j += 1
        Cs.append(Cm)
        consts.append(const)
    colmax = [[_absmax(Cm[:, v]) for v in range(Cm.shape[1])] for Cm in Cs]
    constmax = [_absmax(c) for c in consts]
    small = [max(max(cm, default=0), k) < INT64_BOUND for cm, k in zip(colmax, constmax)]  # key by key
    C64 = ([c.astype(np.int64) if ok else None for c, ok in zip(Cs, small)],
           [c.astype(np.int64) if ok else None for c, ok in zip(consts, small)])
    cf = [c.astype(np.float64) if c is not None else None for c in C64[0]]
    return keys, (Cs, consts), colmax, constmax, C64, cf


__all__ = ["Areas", "FLOAT_EXACT", "Structure", "spatial", "structure_of", "totals"]
