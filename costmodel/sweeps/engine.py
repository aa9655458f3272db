"""The sweep's engine: a grid prepared once (``prepare``), then computed chunk by chunk
(``Prepared.block``), each chunk independent of the others, so that a grid of any size streams
to its output in bounded memory and chunks can run as tasks on several machines.

Rows are configuration-major (alpha, then depth, in the order given), then resolution. A chunk is
either one configuration and a slice of at most ``chunk_rows`` resolutions, or as many whole
configurations as fit in ``chunk_rows`` rows. Per chunk and structure (``products.py``): the
spatial sizes are evaluated on the slice (variables of equal sizes share one array), and each
count is a matrix product ``configurations x variables @ variables x resolutions`` plus the
constant term, computed key by key the cheapest exact way:

* a key without spatial terms (parameters) is its constant;
* the keys whose bound on every partial sum is below 2**53 share one float64 product (BLAS;
  exact: every product and sum is an integer below 2**53), converted to int64;
* else int64 when the bound is below 2**62;
* else Python integers (object arrays): exact, never a silent overflow.

Streamed (``writers.stream``), a chunk is computed into reused column arrays while the previous
one is written.

A network whose structure depends on the resolution beyond shape inference (an upsample to the
input size, a reshape that names H x W) is counted exactly one configuration at a time
(``analyze``'s sums without the peak search): slower, same columns.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ..errors import CostModelError
from .algebra import NotVectorizable
from .axes import ResAxis
from .products import Structure, _arrays, spatial, structure_of, totals
from .structure import COUNT_KEYS, INT64_BOUND, SpatialModel, config_groups, expand_config, structure_key

#: rows per chunk: bounds the memory of a chunk (about 150 bytes a row with its temporaries)
CHUNK_ROWS = 1 << 19
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
            st = structure_of(reps, [m for _, m in entries], r.unfused, r.zero_copy, self.hw_max, model)
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

    def chunks(self, rows: Optional[int] = None) -> List[Tuple[int, int, int, int]]:
        """(first config, last config + 1, first resolution, last resolution + 1) per chunk of at
        most ``rows`` rows (default and upper bound: the recipe's ``chunk_rows``)."""
        n, R = len(self.configs), self.R
        T = max(1, min(self.recipe.chunk_rows, rows or self.recipe.chunk_rows))
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
        cfg = self.configs[c0:c1]
        meta = [("alpha", np.array([a for a, _ in cfg], dtype=float), 0), ("height", h, 1), ("width", w, 1)]
        if self.with_depth:
            meta.append(("depth", np.array([d for _, d in cfg], dtype=float), 0))
        for name, vals, axis in meta:  # per configuration (axis 0) or per resolution (axis 1)
            if name in skip:
                continue
            dst = out.get(name)
            if isinstance(dst, np.ndarray):  # into the caller's array: no temporary
                dst.reshape(k, n)[...] = vals[:, None] if axis == 0 else vals[None, :]
            else:
                out[name] = np.repeat(vals, n) if axis == 0 else np.tile(vals, k)
        if "classes" not in skip:
            dst = out.get("classes")
            if isinstance(dst, np.ndarray):
                dst[...] = self.classes
            else:
                out["classes"] = np.full(rows, self.classes, np.int64 if self.classes < 2 ** 63 else object)
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
        if sum(len(m) for m in st.members) == 1:  # one configuration: this slice never comes back
            hit.transient = True
            return hit
        size = hit.nbytes()
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


# ----------------------------------------------------------------------------- helpers
def shared_columns(p) -> Tuple[str, ...]:
    """Columns of prepared sweep ``p`` a caller makes itself instead of ``block``: classes (a
    constant), and on a square axis width and resolution (the height's own array)."""
    return ("classes", "width", "resolution") if getattr(p.res, "square", False) else ("classes",)


def column_buffers(p, rows: int, skip=()) -> dict:
    """Empty arrays of ``rows`` for the numeric columns of prepared sweep ``p`` that ``block``
    fills (in their dtypes), to be filled chunk after chunk through views: a fresh array per
    chunk costs its page faults every time."""
    import numpy as np
    cols = {}
    for name, kind in p.columns:
        if kind in ("str", "knob") or name in skip:
            continue
        dt = float if kind == "float" else p.dtypes.get(name, np.int64) if kind == "count" else np.int64
        if kind == "int" and max(p.hw_max) >= 2 ** 62:
            dt = object
        cols[name] = np.empty(rows, dtype=dt)
    return cols


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


__all__ = ["CHUNK_ROWS", "Prepared", "Recipe", "column_buffers", "count_keys", "shared_columns"]
