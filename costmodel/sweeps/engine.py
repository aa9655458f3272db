"""The sweep's engine: a grid prepared once (``prepare``), then computed chunk by chunk
(``Prepared.block``), each chunk independent of the others, so that a grid of any size streams
to its output in bounded memory and chunks can run as tasks on several machines.

Rows are configuration-major (alpha, then depth, in the order given), then resolution. A chunk is
either one configuration and a slice of at most ``chunk_rows`` resolutions, or as many whole
configurations as fit in ``chunk_rows`` rows. Per chunk and structure (``structure.py``): the
fine spatial variables are evaluated on the slice and merged by value, and the totals are one
matrix product ``(configurations x keys) x variables @ variables x resolutions`` plus the
constant term, computed

* in float64 (BLAS) when a bound on every partial sum is below 2**53 (then exact: every product
  and sum is an integer below 2**53), converted to int64;
* else in int64 when the bound is below 2**62;
* else in Python integers (object arrays): exact, never a silent overflow.

A network whose structure depends on the resolution beyond shape inference (an upsample to the
input size, a reshape that names H x W) is counted exactly one configuration at a time
(``analyze``'s sums without the peak search): slower, same columns.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..errors import CostModelError
from .algebra import NotVectorizable
from .axes import ResAxis
from .structure import (COUNT_KEYS, INT64_BOUND, SpatialModel, areas, coefficients, config_groups, expand_config,
                        matrix, merge, structure_key)

#: rows per chunk: bounds the memory of a chunk (about 150 bytes a row with its temporaries)
CHUNK_ROWS = 1 << 19
FLOAT_EXACT = 2 ** 53
#: bytes of spatial matrices kept between chunks (reused by every configuration of a structure)
SPATIAL_CACHE = 64 << 20


@dataclass(frozen=True)
class Recipe:
    """Everything a sweep needs, picklable (a Dask task carries it to a worker, which prepares the
    sweep once): the network (a registry name), the axes and the counting options."""

    name: str
    alphas: Optional[Tuple[float, ...]] = None
    depths: Optional[Tuple[float, ...]] = None
    res: Optional[ResAxis] = None
    classes: Optional[int] = None
    knobs: Tuple[Tuple[str, object], ...] = ()
    bits: int = 32
    unfused: bool = False
    zero_copy: bool = False
    peak: bool = False
    chunk_rows: int = CHUNK_ROWS
    stages: Optional[object] = None  #: a ``stages.StageAxes`` for per-stage sweeps


@dataclass
class Structure:
    model: SpatialModel
    reps: list
    members: List[List[int]]
    mats: Dict[str, tuple] = field(default_factory=dict)  #: key -> (C object G x V, const object G)
    bound: Dict[str, int] = field(default_factory=dict)   #: key -> bound on |total| over the grid
    area_max: list = field(default_factory=list)
    merged: Dict[tuple, tuple] = field(default_factory=dict)


def count_keys(attn: bool) -> Tuple[str, ...]:
    """The count columns in order (``attn_madds`` only where the network has attention)."""
    return tuple(k for k in COUNT_KEYS if attn or k != "attn_madds") + ("mac_bytes",)


class Prepared:
    """A grid ready to compute: ``columns`` [(name, kind)], ``n_rows``, ``chunks()`` and
    ``block(chunk)`` (a dict of column arrays)."""

    def __init__(self, recipe: Recipe, progress=None):
        import numpy as np
        from .. import validate
        from ..memory import check_bits
        from ..registry import configure
        r = self.recipe = recipe
        self.user_knobs = dict(r.knobs)
        cfg = configure(r.name, None, None, r.classes, **self.user_knobs)
        net = self.net = cfg.network
        self.classes, self.full = cfg.classes, cfg.knobs
        self.bits = check_bits(r.bits)
        self.res = r.res if r.res is not None else ResAxis.of([cfg.res])
        self.R = len(self.res)
        alphas = [net.default_alpha] if r.alphas is None else list(r.alphas)
        depths = [net.default_depth] if r.depths is None else list(r.depths)
        if not alphas or not depths or not self.R:
            raise CostModelError("sweep needs at least one alpha, depth and resolution")
        alphas = [validate.alpha(a, net.name, net.alphas) for a in alphas]
        has_rule = net.spec(alpha=alphas[0], **self.full).depth_rule is not None
        depths = [validate.depth(d, net.name) for d in depths]
        if not has_rule and any(d != 1.0 for d in depths):
            from ..errors import KnobError
            raise KnobError(f"{net.name}: this network has no depth multiplier (its table has no stage repeats to "
                            f"scale); got depth {next(d for d in depths if d != 1.0):g}")
        self.with_depth = has_rule or r.depths is not None
        self.configs = [(a, d) for a in alphas for d in depths]
        self._check_resolutions()
        lo, hi, self.hw_max = self.res.extremes()
        self.k_lo, self.k_hi = lo[0], hi[0]
        self.hw0 = (hi[1], hi[2])
        self.n_rows = len(self.configs) * self.R
        self.loop = False
        self.structures: List[Structure] = []
        self.s_of = np.zeros(len(self.configs), dtype=np.int64)   # config -> structure
        self.j_of = np.zeros(len(self.configs), dtype=np.int64)   # config -> row of its structure's matrices
        try:
            self._prepare(progress)
        except NotVectorizable:
            self.loop = True
        self.attn = self._has_attention()
        self.keys = count_keys(self.attn)
        self.dtypes = self._dtypes()
        self._cache: Dict[tuple, tuple] = {}
        self._cache_bytes = 0

    # ------------------------------------------------------------------ preparation
    def _check_resolutions(self):
        """validate.resolution's own error for the first resolution below the network's minimum."""
        from .. import validate
        min_res = self.net.min_res_of(self.full)  # the smallest side follows the knobs (VGG16's adaptive pool)
        if min(_min_sides(self.res)) < min_res:
            for v in self.res.values():
                validate.resolution(v, self.net.name, min_res)

    def _prepare(self, progress):
        net, r = self.net, self.recipe
        try:
            groups = config_groups(net, self.configs, self.hw0, self.classes, self.full, progress)
        except CostModelError:
            self._raise_first_error()
            raise
        by_key: Dict[tuple, list] = {}
        for g, members in groups:
            by_key.setdefault(structure_key(g), []).append((g, members))
        for entries in by_key.values():
            reps = [g for g, _ in entries]
            model = SpatialModel(reps[0])
            hs, ws, _ = model.evaluate(*_arrays([self.hw0]))
            if not model.agree(reps[0], 0, hs, ws):
                raise NotVectorizable("shapes")
            if self.k_lo != self.k_hi:  # the structure at the smallest resolution is the same
                a, d = self.configs[entries[0][1][0]]
                hw_lo = self.res.at(self.k_lo)
                try:
                    g_lo = expand_config(net, a, d, hw_lo, self.classes, self.full)
                except CostModelError:  # the first row, in row order, where a map vanishes raises its own
                    self._first_vanishing(model, entries)
                    raise
                hs, ws, _ = model.evaluate(*_arrays([hw_lo]))
                if structure_key(g_lo) != structure_key(reps[0]) or not model.agree(g_lo, 0, hs, ws):
                    raise NotVectorizable("resolution-dependent structure")
            st = structure_of(reps, [m for _, m in entries], r.unfused, r.zero_copy, self.hw_max)
            for j, (_, members) in enumerate(entries):
                for c in members:
                    self.s_of[c], self.j_of[c] = len(self.structures), j
            self.structures.append(st)

    def _first_vanishing(self, model, entries):
        """Scan the resolutions (in slices) for the first where a feature map of this structure
        vanishes, and raise build()'s error for the first configuration there (in row order)."""
        import numpy as np
        c = min(min(m) for _, m in entries)
        T = max(1, self.recipe.chunk_rows)
        for r0 in range(0, self.R, T):
            h, w = self.res.slice(r0, min(r0 + T, self.R))
            _, _, bad = model.evaluate(h, w)
            if bad.any():
                a, d = self.configs[c]
                expand_config(self.net, a, d, self.res.at(r0 + int(np.argmax(bad))), self.classes, self.full)

    def _raise_first_error(self):
        """build()'s own error for the first configuration, in row order, that does not build."""
        for a, d in self.configs:
            for k in range(min(self.R, 1000)):
                expand_config(self.net, a, d, self.res.at(k), self.classes, self.full)
            expand_config(self.net, a, d, self.hw0, self.classes, self.full)

    def _has_attention(self) -> bool:
        if self.loop:
            a, d = self.configs[0]
            g = expand_config(self.net, a, d, self.hw0, self.classes, self.full)
            return any(n.op.kind == "matmul" for n in g.nodes)
        return any(st.bound["attn_madds"] for st in self.structures)

    def _dtypes(self) -> Dict[str, object]:
        """int64 for a column whose bound over the grid is below 2**62, else object (exact ints)."""
        import numpy as np
        if self.loop:
            bound = self._loop_bounds()
        else:
            bound = {k: max(st.bound[k] for st in self.structures) for k in COUNT_KEYS}
        bound["mac_bytes"] = bound["mac"] * self.bits // 8
        self.bounds = bound
        return {k: (np.int64 if bound[k] < INT64_BOUND else object) for k in self.keys}

    def _loop_bounds(self):
        from ..analysis import count_totals
        from ..memory import plan
        out = dict.fromkeys(COUNT_KEYS, 0)
        for a, d in dict.fromkeys(self.configs):
            g = expand_config(self.net, a, d, self.hw_max if self._builds(a, d) else self.hw0, self.classes,
                              self.full)
            t = count_totals(g)
            t["mac"] = sum(u.mac for u in plan(g, unfused=self.recipe.unfused, zero_copy=self.recipe.zero_copy).units)
            for k in out:
                out[k] = max(out[k], abs(t[k]))
        return {k: 2 * v for k, v in out.items()}  # margin: counts need not peak at the largest side

    def _builds(self, a, d) -> bool:
        try:
            expand_config(self.net, a, d, self.hw_max, self.classes, self.full)
            return True
        except CostModelError:
            return False

    # ------------------------------------------------------------------ the schema
    @property
    def columns(self) -> List[Tuple[str, str]]:
        """[(name, kind)]: kind 'str', 'float', 'int', 'knob', or 'count' (int64 or exact object)."""
        cols = [("network", "str"), ("alpha", "float")]
        if self.res.square:
            cols.append(("resolution", "int"))
        if self.with_depth:
            cols.append(("depth", "float"))
        cols += [("height", "int"), ("width", "int"), ("classes", "int")]
        cols += [(k, "knob") for k, v in self.full.items() if v is not None]
        cols += [(k, "count") for k in self.keys]
        if self.recipe.peak:
            cols.append(("peak_activation_bytes", "count"))
        return cols

    def chunks(self) -> List[Tuple[int, int, int, int]]:
        """(first config, last config + 1, first resolution, last resolution + 1) per chunk."""
        n, R = len(self.configs), self.R
        T = max(1, self.recipe.chunk_rows)
        if R >= T:
            return [(c, c + 1, r, min(r + T, R)) for c in range(n) for r in range(0, R, T)]
        k = max(1, T // R)
        return [(c, min(c + k, n), 0, R) for c in range(0, n, k)]

    def rows_of(self, chunk) -> Tuple[int, int]:
        c0, c1, r0, r1 = chunk
        if r1 - r0 == self.R:
            return c0 * self.R, c1 * self.R
        return c0 * self.R + r0, c0 * self.R + r1

    # ------------------------------------------------------------------ a chunk
    def block(self, chunk, out: Optional[dict] = None, skip=()) -> dict:
        """The columns of one chunk (into ``out``'s arrays when given; ``skip``: identification
        columns the caller makes itself)."""
        import numpy as np
        c0, c1, r0, r1 = chunk
        h, w = self.res.slice(r0, r1)
        k, n = c1 - c0, r1 - r0
        rows = k * n
        out = {} if out is None else out
        meta = {"alpha": lambda: np.repeat(np.array([a for a, _ in self.configs[c0:c1]], dtype=float), n),
                "height": lambda: np.tile(h, k), "width": lambda: np.tile(w, k),
                "classes": lambda: np.full(rows, self.classes, np.int64 if self.classes < 2 ** 63 else object)}
        if self.with_depth:
            meta["depth"] = lambda: np.repeat(np.array([d for _, d in self.configs[c0:c1]], dtype=float), n)
        for name, make in meta.items():
            if name not in skip:
                _put(out, name, make())
        if self.res.square and "resolution" not in skip:
            _put(out, "resolution", out["height"])
        out["network"] = self.net.name
        for name, v in self.full.items():
            if v is not None:
                out[name] = v
        for key in self.keys:
            if key not in out:
                out[key] = np.empty(rows, dtype=self.dtypes[key])
        if self.loop:
            self._loop_block(chunk, h, w, out)
        else:
            self._vector_block(chunk, h, w, out)
        b = self.bits // 8
        if self.dtypes["mac_bytes"] is object or out["mac"].dtype == object:
            out["mac_bytes"][...] = out["mac"].astype(object) * b
        else:
            np.multiply(out["mac"], b, out=out["mac_bytes"])
        if self.recipe.peak:
            _put(out, "peak_activation_bytes", self._peaks(chunk, h, w))
        return out

    def _vector_block(self, chunk, h, w, out):
        import numpy as np
        c0, c1, r0, r1 = chunk
        k, n = c1 - c0, r1 - r0
        sids = self.s_of[c0:c1]
        for s in np.unique(sids):
            st = self.structures[int(s)]
            sel = np.nonzero(sids == s)[0]
            self._product(st, self._spatial(int(s), st, r0, r1, h, w), self.j_of[c0:c1][sel], sel, k, n, out)

    def _spatial(self, s, st, r0, r1, h, w):
        """Structure ``s``'s merged areas over resolutions r0..r1 (``spatial``; cached while small)."""
        import numpy as np
        key = (s, r0, r1)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        hit, bad = spatial(st, h, w, self.net.name)
        if bad.any():
            self._vanished(s, r0 + int(np.argmax(bad)))
        size = (hit[0] if hit[0] is not None else hit[1]).nbytes
        if self._cache_bytes + size <= SPATIAL_CACHE:
            self._cache[key] = hit
            self._cache_bytes += size
        return hit

    def _vanished(self, s, k_res):
        """A feature map vanishes at resolution position ``k_res``: raise build()'s own error for the
        first configuration of structure ``s`` (in row order)."""
        c = min(min(m) for m in self.structures[s].members)
        a, d = self.configs[c]
        expand_config(self.net, a, d, self.res.at(k_res), self.classes, self.full)
        raise RuntimeError(f"sweep: {self.net.name} builds at {self.res.at(k_res)} although a feature map vanishes")

    def _product(self, st, sp, jrows, sel, k, n, out):
        """Totals of the configurations ``sel`` of the chunk (rows ``jrows`` of the structure's
        matrices), written into the chunk's columns."""
        keys = [key for key in COUNT_KEYS if key in out]
        for key, T in zip(keys, totals(st, sp, jrows, keys)):
            _assign(out[key].reshape(k, n), sel, T, k)

    def _loop_block(self, chunk, h, w, out):
        """Exact totals by one build per configuration (``analyze``'s sums without its peak search)."""
        from ..analysis import count_totals
        from ..memory import plan
        c0, c1, r0, r1 = chunk
        n = r1 - r0
        for i, (a, d) in enumerate(self.configs[c0:c1]):
            for j in range(n):
                g = expand_config(self.net, a, d, (int(h[j]), int(w[j])), self.classes, self.full)
                t = count_totals(g)
                t["mac"] = sum(u.mac for u in plan(g, unfused=self.recipe.unfused,
                                                   zero_copy=self.recipe.zero_copy).units)
                for key in COUNT_KEYS:
                    if key in out:
                        v = t[key]
                        if out[key].dtype != object and abs(v) >= INT64_BOUND:
                            raise CostModelError(f"{self.net.name}: {key} = {v} exceeds the int64 column chosen "
                                                 f"for this grid; sweep the largest resolutions separately")
                        out[key][i * n + j] = v

    def _peaks(self, chunk, h, w):
        import numpy as np
        from ..memory import plan, schedule, to_bytes
        c0, c1, r0, r1 = chunk
        vals = []
        for a, d in self.configs[c0:c1]:
            for j in range(r1 - r0):
                g = expand_config(self.net, a, d, (int(h[j]), int(w[j])), self.classes, self.full)
                p = plan(g, unfused=self.recipe.unfused, zero_copy=self.recipe.zero_copy)
                vals.append(to_bytes(schedule(p, "optimal").peak, self.bits))
        return np.array(vals, dtype=np.int64 if max(vals) < INT64_BOUND else object)


# ----------------------------------------------------------------------------- per structure
def spatial(st: Structure, h, w, name: str = "", ev=None):
    """(merged areas, vanishing mask) of structure ``st`` over the input sizes (h, w): the areas as
    (float64 matrix or None, exact object matrix or None, max per row, merge groups, all-ones
    groups); float64 when every area is below 2**53. ``ev``: ``st.model.evaluate(h, w)`` if done."""
    import numpy as np
    hs, ws, bad = ev if ev is not None else st.model.evaluate(h, w)
    vals = areas(hs, ws)
    groups, arrs = merge(vals)
    for v, a in enumerate(vals):
        if len(a) and int(a.max()) > st.area_max[v]:  # the bound's premise: sizes grow with the input
            raise RuntimeError(f"sweep: a spatial size of {name} exceeds its bound at the largest input")
    ones = tuple(i for i, a in enumerate(arrs) if a is None)
    keep = [a for a in arrs if a is not None]
    vmax = [int(a.max()) if len(a) else 0 for a in keep]
    n = len(h)
    if any(a.dtype == object for a in keep) or (vmax and max(vmax) >= FLOAT_EXACT):
        S, Sf = (np.array(keep, dtype=object) if keep else np.zeros((0, n), dtype=object)), None
    else:
        S, Sf = None, np.empty((len(keep), n))
        for i, a in enumerate(keep):
            Sf[i] = a
    return (Sf, S, vmax, groups, ones), bad


_SCRATCH = None


def _scratch(size: int):
    """A float64 buffer of ``size`` elements reused by the products of this thread (a fresh array
    per chunk costs its page faults every time)."""
    import threading
    import numpy as np
    global _SCRATCH
    if _SCRATCH is None:
        _SCRATCH = threading.local()
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or buf.size < size:
        buf = _SCRATCH.buf = np.empty(size)
    return buf[:size]


def totals(st: Structure, sp, jrows, keys):
    """Per key the (len(jrows) x resolutions) totals of rows ``jrows`` of the structure's matrices:
    one float64 product for every key when all are provably exact (then int64), else int64 or
    exact objects key by key. Float results are views of a buffer the next call reuses: copy them
    (or use them) first."""
    import numpy as np
    Sf, S, vmax, groups, ones = sp
    n = Sf.shape[1] if Sf is not None else S.shape[1]
    sig = (tuple(map(tuple, groups)), ones, tuple(keys))
    m = st.merged.get(sig)
    if m is None:
        m = st.merged[sig] = _merge_cols(st.mats, groups, ones, list(keys))
    _, (Cm, const), colmax, constmax, C64, cf = m
    bounds = [sum(colmax[i][v] * vmax[v] for v in range(len(vmax))) + constmax[i] for i in range(len(keys))]
    if Sf is not None and cf is not None and max(bounds) < FLOAT_EXACT:
        K = len(keys)
        A = cf[:, jrows, :].reshape(K * len(jrows), -1)
        T = _scratch(K * len(jrows) * n).reshape(K * len(jrows), n)
        if Sf.shape[0]:
            np.matmul(A, Sf, out=T)
        else:
            T[...] = 0
        T = T.reshape(K, len(jrows), n)
        T += C64[1][:, jrows, None]
        return list(T)
    out = []
    for i, key in enumerate(keys):
        if Sf is not None and C64[0] is not None and bounds[i] < INT64_BOUND:
            T = C64[0][i][jrows] @ Sf.astype(np.int64) + C64[1][i][jrows][:, None]
        else:
            Sx = S if S is not None else Sf.astype(np.int64).astype(object)
            T = Cm[i][jrows].dot(Sx) if Sx.shape[0] else np.zeros((len(jrows), n), dtype=object)
            T = T + const[i][jrows][:, None]
            if bounds[i] < INT64_BOUND:
                T = np.array(T, dtype=np.int64)
        out.append(T)
    return out


def structure_of(reps, members, unfused: bool, zero_copy: bool, hw_max) -> Structure:
    """A structure's spatial model, coefficient matrices and bounds over inputs up to ``hw_max``
    (raises NotVectorizable when the counts are not sums of products)."""
    model = SpatialModel(reps[0])
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
    (keys, (C objects, constants), column maxima, constant maxima, (C int64, const int64), C float64)."""
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
    small = max([max(c, default=0) for c in colmax] + constmax) < INT64_BOUND
    C64 = (np.array([c.astype(np.int64) for c in Cs]), np.array([c.astype(np.int64) for c in consts])) if small \
        else (None, None)
    cf = C64[0].astype(np.float64) if small else None
    return keys, (Cs, consts), colmax, constmax, C64, cf


def _assign(dst, sel, T, k):
    import numpy as np
    if len(sel) == k:
        np.copyto(dst, T, casting="unsafe")
    else:
        dst[sel] = T


def _put(out, name, v):
    if name in out and out[name] is not None and not isinstance(out[name], (str, int, float, bool)):
        out[name][...] = v
    else:
        out[name] = v


def _min_sides(res: ResAxis):
    h_min = w_min = None
    for s in res.segments:
        if s[0] == "range":
            lo = s[1]
            h_min = lo if h_min is None else min(h_min, lo)
            w_min = lo if w_min is None else min(w_min, lo)
        else:
            h_min = min(s[1]) if h_min is None else min(h_min, min(s[1]))
            w_min = min(s[2]) if w_min is None else min(w_min, min(s[2]))
    return h_min, w_min


__all__ = ["CHUNK_ROWS", "Prepared", "Recipe", "count_keys", "spatial", "structure_of", "totals"]
