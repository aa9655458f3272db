"""Per-stage design spaces: the block table's stages (rows with an explicit repeat n, see
``costmodel.spec``) as axes, as the design-space papers explore them (RegNet, arXiv 2003.13678;
MnasNet's and EfficientNet's per-stage width, depth and kernel choices).

Each selected stage picks, independently, one option of every axis given:

* ``width``: the stage's own width multiplier w: every channel count its blocks scale becomes
  alpha x w before the network's rounding (``Block.width_mult``);
* ``depth``: the stage's depth multiplier d: its repeat n (the network's own, at its default
  depth) becomes ceil(d x n) (EfficientNet's rule, ``rounding.ceil_repeats``);
* ``kernel``: the stage's kernel size (the block's ``k``);
* ``expand``: the stage's expansion ratio (the block's ``t``).

A space of S stages with Q options each has Q**S points (times the alphas and resolutions):
enumerated exactly (rows in mixed radix, stage 1 the most significant digit: column ``point``) or,
with ``sample=N``, N points drawn uniformly (seeded) with the same exact counts.

**Why it stays exact and vectorized.** The table is a chain: every row reads the previous row's
output, so a point's graph is the concatenation of its segments (a stage row, or the rows between
two stages), and a segment's graph depends only on its input channels and its own choice. Every
count is a sum over nodes, and MAC a sum over the memory plan's units, which never cross a segment
boundary when no segment starts with a BatchNorm or an activation (which the deployment view folds
into the producer: checked). So a point's totals are the sum of its segments' totals: each
(input channels, choice) variant of a segment is built once and costed on symbolic shapes
(``structure.py``), evaluated per slice of resolutions as a small table, and a chunk of points is
a sum of gathers from the tables. The decomposition is also checked against whole builds
(``point_graph``) at a few points; where it cannot hold (a row reading the input resolution, a
segment starting with a BN) every point is counted by its own build, exactly, slower.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ..errors import CostModelError
from .algebra import NotVectorizable
from .engine import Recipe, count_keys
from .products import spatial, structure_of, totals
from .stage_axes import BLOCK_ARG, ENUMERATE_LIMIT, STAGE_AXES, StageAxes, _check  # noqa: F401
from .structure import COUNT_KEYS, INT64_BOUND, structure_key

class PreparedStages:
    """A per-stage grid ready to compute, with the interface of ``engine.Prepared``."""

    def __init__(self, recipe: Recipe, progress=None):
        import numpy as np
        from .. import validate
        from ..memory import check_bits
        from ..registry import configure
        from .axes import ResAxis
        r = self.recipe = recipe
        self.axes = ax = StageAxes.of(r.stages)
        cfg = configure(r.name, None, None, r.classes, **dict(r.knobs))
        net = self.net = cfg.network
        _check(ax, net.name)
        if r.depths is not None:
            raise CostModelError("a stage sweep takes --stage-depth (per stage), not --depth-mult")
        self.classes, self.full, self.depth0 = cfg.classes, cfg.knobs, cfg.depth
        self.bits = check_bits(r.bits)
        self.res = r.res if r.res is not None else ResAxis.of([cfg.res])
        self.R = len(self.res)
        alphas = [net.default_alpha] if r.alphas is None else list(r.alphas)
        if not alphas or not self.R:
            raise CostModelError("sweep needs at least one alpha and one resolution")
        self.alphas = [validate.alpha(a, net.name, net.alphas) for a in alphas]
        _, hi, self.hw_max = self.res.extremes()
        self.hw0 = (hi[1], hi[2])
        from .engine import _min_sides
        min_res = net.min_res_of(self.full)
        if min(_min_sides(self.res)) < min_res:
            for v in self.res.values():
                validate.resolution(v, net.name, min_res)
        spec = net.spec(alpha=self.alphas[0], **self.full)
        rows = [i for i, b in enumerate(spec.blocks) if b.repeat is not None]
        if not rows:
            raise CostModelError(f"{net.name} has no stage rows (rows with a repeat n) to sweep; "
                                 f"'costmodel show {net.name}' prints its table")
        if any(b.inputs for b in spec.blocks):
            raise CostModelError(f"{net.name}: a stage sweep needs a chain of rows (no row reads a named row)")
        sel = ax.stages or tuple(range(1, len(rows) + 1))
        for s in sel:
            if not 1 <= s <= len(rows):
                raise CostModelError(f"{net.name}: stage {s} does not exist; its table has stages 1-{len(rows)}")
        self.stage_rows = [rows[s - 1] for s in sel]
        self.stage_numbers = list(sel)
        self.options = ax.options()
        self.Q, self.S = len(self.options), len(self.stage_rows)
        self.P = self.Q ** self.S
        A = len(self.alphas)
        if ax.sample is not None:
            rng = np.random.default_rng(ax.seed)
            N = ax.sample
            self.sample_alpha = rng.integers(A, size=N)
            self.sample_digits = rng.integers(self.Q, size=(N, self.S))
            self.sample_res = rng.integers(self.R, size=N)
            self.n_rows = N
        else:
            self.n_rows = A * self.P * self.R
            if self.n_rows > ENUMERATE_LIMIT:
                raise CostModelError(f"{net.name}: {A * self.P * self.R:,} points is too many to enumerate (at most "
                                     f"{ENUMERATE_LIMIT:,}); draw a uniform sample with --sample N")
        self.loop = False
        self.chains: Dict[int, list] = {}
        try:
            for i, a in enumerate(self.alphas):
                self.chains[i] = self._chain(a)
                if progress:
                    progress(i + 1, A)
            self._verify()
        except NotVectorizable:
            self.loop, self.chains = True, {}
        self.attn = self._attention()
        self.keys = count_keys(self.attn)
        self.bounds = self._bounds()
        self.bounds["mac_bytes"] = self.bounds["mac"] * self.bits // 8
        self.dtypes = {k: (np.int64 if self.bounds[k] < INT64_BOUND else object) for k in self.keys}
        self.with_depth = False

    # ------------------------------------------------------------------ points
    def point_spec(self, alpha, choices):
        """The spec of one point: ``choices`` one option dict per selected stage."""
        from dataclasses import replace
        from ..spec import scaled_repeat
        spec = self.net.spec(alpha=alpha, **self.full)
        blocks = list(spec.blocks)
        for j, b in enumerate(blocks):
            if b.repeat is not None:
                blocks[j] = replace(b, repeat=scaled_repeat(spec, b, self.depth0))
        for row, q in zip(self.stage_rows, choices):
            blocks[row] = self._apply(blocks[row], q)
        return replace(spec, blocks=tuple(blocks), depth_rule=None)

    def _apply(self, b, q):
        from dataclasses import replace
        from ..rounding import ceil_repeats
        from ..spec import get_block_type
        args = dict(b.args)
        for axis, name in BLOCK_ARG.items():
            if axis in q:
                if name not in get_block_type(b.type).params:
                    raise CostModelError(f"{self.net.name}: --stage-{axis} sets {name!r}, which block type {b.type!r} "
                                         f"does not take")
                args[name] = q[axis]
        n = max(1, ceil_repeats(b.repeat, q["depth"])) if "depth" in q else b.repeat
        return replace(b, args=args, repeat=n, width_mult=b.width_mult * q.get("width", 1.0))

    def point_graph(self, alpha, choices, hw):
        """The whole graph of one point (the exact reference every decomposed total equals)."""
        from ..spec import expand
        return expand(self.point_spec(alpha, choices), alpha, hw, self.classes, 1.0,
                      meta={"network": self.net.name, "family": self.net.family}, **self.full)

    def _choices(self, digits):
        return [self.options[int(q)] for q in digits]

    # ------------------------------------------------------------------ the chain of segments
    def _chain(self, alpha):
        """Segments of the table at ``alpha``: per segment its variants (one per input channels x
        choice), their structures, and the index tables that walk a point through them."""
        import numpy as np
        from ..graph import INPUT
        from ..spec import NetSpec, expand
        base = self.point_spec(alpha, [{}] * self.S)
        cuts = sorted(set([0, len(base.blocks)] + self.stage_rows + [r + 1 for r in self.stage_rows]))
        segs = []
        states, hw_in, hw_top = [base.in_channels], self.hw0, self.hw_max
        for lo, hi in zip(cuts, cuts[1:]):
            stage = self.stage_rows.index(lo) if lo in self.stage_rows else None
            choices = self.options if stage is not None else [None]
            variants, index = [], np.zeros((len(states), len(choices)), dtype=np.int64)
            for si, c_in in enumerate(states):
                for qi, q in enumerate(choices):
                    blocks = base.blocks[lo:hi] if q is None else (self._apply(base.blocks[lo], q),)
                    seg = NetSpec(base.name, tuple(blocks), width=base.width, in_channels=c_in, default_res=hw_in)
                    # a choice that does not build says its stage and options (the segment's own
                    # block numbers would mislead: its block 0 is the stage's row)
                    try:
                        g = expand(seg, alpha, hw_in, self.classes, 1.0, meta={"network": self.net.name}, **self.full)
                    except CostModelError as e:
                        if q is None:
                            raise
                        raise CostModelError(f"{self.net.name}: stage {self.stage_numbers[stage]} does not build with "
                                             f"{_flags(q)}: {e}") from None
                    if lo > 0 and any(INPUT in n.inputs and n.op.kind in ("batchnorm", "activation") for n in g.nodes):
                        raise NotVectorizable("a segment starts with a BN or an activation")
                    index[si, qi] = len(variants)
                    variants.append(g)
            last = hi == len(base.blocks)
            outs = [g.output_shape for g in variants]
            if not last and (any(len(s) != 3 for s in outs) or len({s[1:] for s in outs}) != 1):
                raise NotVectorizable("stage choices change a spatial size or flatten between stages")
            out_c = list(dict.fromkeys(s[0] for s in outs))
            by_key: Dict[tuple, list] = {}
            for v, g in enumerate(variants):
                by_key.setdefault(structure_key(g), []).append(v)
            structs, where = [], np.zeros((len(variants), 2), dtype=np.int64)
            for vs in by_key.values():
                st = structure_of([variants[v] for v in vs], [[v] for v in vs], self.recipe.unfused,
                                  self.recipe.zero_copy, hw_top)
                for j, v in enumerate(vs):
                    where[v] = (len(structs), j)
                structs.append(st)
            segs.append({"stage": stage, "index": index, "where": where, "structs": structs,
                         "out_state": np.array([out_c.index(s[0]) for s in outs], dtype=np.int64),
                         "rows": (lo, hi)})
            states = out_c
            if not last:
                hw_in = outs[0][1:]
                from .products import _arrays
                top = _output_hw(structs[0], structs[0].model.evaluate(*_arrays([hw_top])))
                hw_top = (int(top[0][0]), int(top[1][0]))
        return segs

    def _verify(self):
        """The decomposition equals whole builds at a few points (the first, the last, random ones),
        at the largest and the smallest resolution."""
        import numpy as np
        rng = np.random.default_rng(12345)
        digits = [np.zeros(self.S, dtype=np.int64), np.full(self.S, self.Q - 1)]
        digits += [rng.integers(self.Q, size=self.S) for _ in range(2)]
        lo, hi, _ = self.res.extremes()
        ks = sorted({lo[0], hi[0]})
        h, w = self.res.take(np.array(ks))
        for ai in range(len(self.alphas)) if len(self.alphas) <= 2 else (0, len(self.alphas) - 1):
            for d in digits:
                got = self._rows(ai, np.array([d] * len(ks)), h, w, list(COUNT_KEYS))
                for j, k in enumerate(ks):
                    want = self._exact(self.alphas[ai], d, (int(h[j]), int(w[j])))
                    if any(int(got[key][j]) != want[key] for key in COUNT_KEYS):
                        raise NotVectorizable("segments do not add up to the whole graph")

    def _exact(self, alpha, digits, hw):
        from ..analysis import count_totals
        from ..memory import plan
        g = self.point_graph(alpha, self._choices(digits), hw)
        t = count_totals(g)
        t["mac"] = sum(u.mac for u in plan(g, unfused=self.recipe.unfused, zero_copy=self.recipe.zero_copy).units)
        return t

    # ------------------------------------------------------------------ totals of rows
    def _rows(self, ai, digits, h, w, keys):
        """Totals (one array per key) of rows with stage digits ``digits`` (m x S) at alpha index
        ``ai`` and input sizes (h, w) (length m), by the chain's segment tables."""
        import numpy as np
        m = len(h)
        ur, inv = _unique_hw(h, w)
        obj = not all(self.dtypes_or_int(k) for k in keys)
        acc = np.zeros((len(keys), m), dtype=object if obj else np.int64)
        tmp = None
        state = np.zeros(m, dtype=np.int64)
        h_in, w_in = ur
        for seg in self.chains[ai]:
            q = digits[:, seg["stage"]] if seg["stage"] is not None else np.zeros(m, dtype=np.int64)
            v = seg["index"][state, q]
            nxt = None
            for s_id, st in enumerate(seg["structs"]):
                mask = seg["where"][v, 0] == s_id
                if not mask.any() and nxt is not None:
                    continue
                ev = st.model.evaluate(h_in, w_in)
                out_hw = _output_hw(st, ev)
                if nxt is None:
                    nxt = out_hw
                elif out_hw is not None and not (np.array_equal(out_hw[0], nxt[0])
                                                 and np.array_equal(out_hw[1], nxt[1])):
                    raise CostModelError(f"{self.net.name}: stage choices change a spatial size; a stage sweep needs "
                                         f"choices that keep every stage's output size")
                every = len(seg["structs"]) == 1
                if not every and not mask.any():
                    continue
                sp, bad = spatial(st, h_in, w_in, self.net.name, ev)
                if bad.any():
                    self._vanished(ai, digits, h, w)
                jr = seg["where"][v if every else v[mask], 1]
                G, nu = len(st.reps), len(inv)
                if G * len(ur[0]) <= 4 * nu:  # the whole (small) table: no sort
                    used, pos = np.arange(G), jr
                else:
                    used, pos = np.unique(jr, return_inverse=True)
                flat = pos * len(ur[0]) + (inv if every else inv[mask])
                Ts = totals(st, sp, used, keys)
                if any(T.dtype == object for T in Ts) and acc.dtype != object:
                    acc = acc.astype(object)
                table = np.stack([T.reshape(-1).astype(acc.dtype) for T in Ts])  # small: variants x resolutions
                if every and acc.dtype != object:
                    if tmp is None:
                        tmp = np.empty_like(acc)
                    np.take(table, flat, axis=1, out=tmp)
                    acc += tmp
                elif every:
                    acc += np.take(table, flat, axis=1)
                else:
                    acc[:, mask] += np.take(table, flat, axis=1)
            state = seg["out_state"][v]
            if nxt is not None:
                h_in, w_in = nxt
        return dict(zip(keys, acc))

    def _enumerated(self, chunk, h, w):
        """Totals of an enumerated chunk: the points of one prefix of leading stage choices times
        every choice of the last L stages, built level by level (a point's total is its prefix's
        plus one table entry per later segment: about one gather per point, not one per segment)."""
        import numpy as np
        c0, c1, r0, r1 = chunk
        keys = list(COUNT_KEYS)
        ai, p0 = c0 // self.P, c0 % self.P
        L = 0 if c1 - c0 == 1 else self.trailing()
        lead = [(p0 // self.Q ** (self.S - 1 - s)) % self.Q for s in range(self.S - L)]
        n = r1 - r0
        hh, ww = h[:n], w[:n]
        obj = not all(self.dtypes_or_int(k) for k in keys)
        A = np.zeros((len(keys), 1, n), dtype=object if obj else np.int64)
        states = np.zeros(1, dtype=np.int64)
        for seg, table in self._tables(ai, r0, r1, hh, ww):
            if table.dtype == object and A.dtype != object:
                A = A.astype(object)
            st = seg["stage"]
            if st is not None and st >= self.S - L:  # a trailing stage: every choice, a new level
                v = seg["index"][states[:, None], np.arange(self.Q)[None, :]].reshape(-1)
                A = (A[:, :, None, :] + np.take(table, v, axis=1).reshape(len(keys), len(states), self.Q, n)
                     ).reshape(len(keys), -1, n)
            else:
                q = lead[st] if st is not None else 0
                v = seg["index"][states, q]
                A += np.take(table, v, axis=1)
            states = seg["out_state"][v]
        return {k: A[i].reshape(-1) for i, k in enumerate(keys)}

    def _tables(self, ai, r0, r1, h, w):
        """Per segment of alpha ``ai``: (segment, its totals table keys x variants x resolutions)
        over the resolutions r0..r1 (cached while the chunks share them)."""
        import numpy as np
        key = (ai, r0, r1)
        cache = self.__dict__.setdefault("_table_cache", {})
        if key in cache:
            return cache[key]
        keys = list(COUNT_KEYS)
        out = []
        h_in, w_in = h, w
        for seg in self.chains[ai]:
            nv = len(seg["where"])
            parts, nxt = [], None
            for s_id, st in enumerate(seg["structs"]):
                ev = st.model.evaluate(h_in, w_in)
                o = _output_hw(st, ev)
                if nxt is None:
                    nxt = o
                elif o is not None and not (np.array_equal(o[0], nxt[0]) and np.array_equal(o[1], nxt[1])):
                    raise CostModelError(f"{self.net.name}: stage choices change a spatial size; a stage sweep needs "
                                         f"choices that keep every stage's output size")
                sp, bad = spatial(st, h_in, w_in, self.net.name, ev)
                if bad.any():
                    raise CostModelError(build_error(self, ai, h_in, w_in))
                Ts = totals(st, sp, np.arange(len(st.reps)), keys)
                parts.append((s_id, [np.array(T) for T in Ts]))  # copies: the product reuses its buffer
            obj = any(T.dtype == object for _, Ts in parts for T in Ts)
            table = np.zeros((len(keys), nv, len(h)), dtype=object if obj else np.int64)
            for v in range(nv):
                s_id, j = seg["where"][v]
                Ts = dict(parts)[int(s_id)]
                for i, T in enumerate(Ts):
                    table[i, v] = T[j]
            out.append((seg, table))
            if nxt is not None:
                h_in, w_in = nxt
        cache.clear()
        cache[key] = out
        return out

    def dtypes_or_int(self, key) -> bool:
        d = getattr(self, "dtypes", None)
        return d is None or d.get(key) is not object

    def _vanished(self, ai, digits, h, w):
        for j in range(len(h)):
            self.point_graph(self.alphas[ai], self._choices(digits[j]), (int(h[j]), int(w[j])))
        raise RuntimeError(f"sweep: {self.net.name} builds although a feature map vanishes")

    def _attention(self) -> bool:
        if self.loop:
            g = self.point_graph(self.alphas[0], self._choices([0] * self.S), self.hw0)
            return any(n.op.kind == "matmul" for n in g.nodes)
        return any(st.bound["attn_madds"] for segs in self.chains.values() for seg in segs for st in seg["structs"])

    def _bounds(self):
        if self.loop:
            out = dict.fromkeys(COUNT_KEYS, 0)
            for a in self.alphas:
                for d in ([0] * self.S, [self.Q - 1] * self.S):
                    t = self._exact(a, d, self.hw_max)
                    for k in out:
                        out[k] = max(out[k], 2 * abs(t[k]))
            return out
        out = {}
        for k in COUNT_KEYS:
            out[k] = max(sum(max(st.bound[k] for st in seg["structs"]) for seg in segs)
                         for segs in self.chains.values())
        return out

    # ------------------------------------------------------------------ the schema and chunks
    @property
    def columns(self) -> List[Tuple[str, str]]:
        cols = [("network", "str"), ("alpha", "float")]
        if self.res.square:
            cols.append(("resolution", "int"))
        cols += [("height", "int"), ("width", "int"), ("classes", "int")]
        cols += [(k, "knob") for k, v in self.full.items() if v is not None]
        if self.P < 2 ** 63:
            cols.append(("point", "int"))
        for s in self.stage_numbers:
            for k, _ in self.axes.axes:
                cols.append((f"stage{s}_{k}", "int" if k == "kernel" else "float"))
                if k == "depth":
                    cols.append((f"stage{s}_repeats", "int"))
        cols += [(k, "count") for k in self.keys]
        if self.recipe.peak:
            cols.append(("peak_activation_bytes", "count"))
        return cols

    def chunks(self):
        T = max(1, self.recipe.chunk_rows)
        if self.axes.sample is not None:
            return [(i, min(i + T, self.n_rows), 0, 0) for i in range(0, self.n_rows, T)]
        R, n = self.R, len(self.alphas) * self.P
        if R >= T or self.Q * R > T:  # one point a chunk, a slice of the resolutions
            return [(c, c + 1, r, min(r + T, R)) for c in range(n) for r in range(0, R, T)]
        k = self.Q ** self.trailing()  # whole blocks of the last stages' choices
        return [(c, c + k, 0, R) for c in range(0, n, k)]

    def trailing(self) -> int:
        """How many of the last stages one chunk enumerates whole (Q**L x resolutions <= chunk_rows)."""
        L = 0
        while L < self.S and self.Q ** (L + 1) * self.R <= max(1, self.recipe.chunk_rows):
            L += 1
        return L

    def rows_of(self, chunk):
        c0, c1, r0, r1 = chunk
        if self.axes.sample is not None:
            return c0, c1
        if r1 - r0 == self.R:
            return c0 * self.R, c1 * self.R
        return c0 * self.R + r0, c0 * self.R + r1

    def _rows_of_chunk(self, chunk):
        """(alpha index, stage digits, resolution index) per row of a chunk."""
        import numpy as np
        c0, c1, r0, r1 = chunk
        if self.axes.sample is not None:
            return self.sample_alpha[c0:c1], self.sample_digits[c0:c1], self.sample_res[c0:c1]
        n = r1 - r0
        configs = np.arange(c0, c1, dtype=np.int64)
        ai, p = configs // self.P, configs % self.P
        digits = np.zeros((len(configs), self.S), dtype=np.int64)
        for s in range(self.S - 1, -1, -1):
            digits[:, s] = p % self.Q
            p = p // self.Q
        return np.repeat(ai, n), np.repeat(digits, n, axis=0), np.tile(np.arange(r0, r1), len(configs))

    def _points(self, chunk, digits):
        """The ``point`` column: the mixed-radix index of each row's stage digits."""
        import numpy as np
        c0, c1, r0, r1 = chunk
        if self.axes.sample is None:
            return np.repeat(np.arange(c0, c1, dtype=np.int64) % self.P, r1 - r0)
        out = np.zeros(len(digits), dtype=np.int64)
        for s in range(self.S):
            out = out * self.Q + digits[:, s]
        return out

    def block(self, chunk, out: Optional[dict] = None, skip=()) -> dict:
        """The columns of one chunk (``skip``: columns the caller makes itself)."""
        import numpy as np
        ai, digits, ri = self._rows_of_chunk(chunk)
        h, w = self.res.take(ri)
        m = len(ai)
        out = {} if out is None else out
        cols = {"alpha": np.array(self.alphas, dtype=float)[ai], "height": h, "width": w,
                "classes": np.full(m, self.classes, dtype=np.int64 if self.classes < 2 ** 63 else object)}
        if self.res.square:
            cols["resolution"] = h
        if self.P < 2 ** 63:
            cols["point"] = self._points(chunk, digits)
        for s_i, s in enumerate(self.stage_numbers):
            for k, vals in self.axes.axes:
                cols[f"stage{s}_{k}"] = np.array([self.options[q][k] for q in range(self.Q)])[digits[:, s_i]]
                if k == "depth":
                    base = self.point_spec(self.alphas[0], [{}] * self.S).blocks[self.stage_rows[s_i]].repeat
                    reps = np.array([max(1, _ceil(base, self.options[q]["depth"])) for q in range(self.Q)])
                    cols[f"stage{s}_repeats"] = reps[digits[:, s_i]]
        counts = {}
        if self.axes.sample is None and not self.loop:
            counts = self._enumerated(chunk, h, w)
        for a in np.unique(ai) if not counts else ():
            sel = np.nonzero(ai == a)[0]
            if self.loop:
                got = self._loop_rows(int(a), digits[sel], h[sel], w[sel])
            else:
                got = self._rows(int(a), digits[sel], h[sel], w[sel], list(COUNT_KEYS))
            for k, v in got.items():
                if k not in counts:
                    counts[k] = np.zeros(m, dtype=object if self.dtypes.get(k, np.int64) is object else np.int64)
                if len(sel) == m:
                    counts[k] = v if v.dtype == counts[k].dtype else v.astype(counts[k].dtype)
                else:
                    counts[k][sel] = v
        mac = counts["mac"].astype(object) if self.dtypes["mac_bytes"] is object else counts["mac"]
        counts["mac_bytes"] = mac * (self.bits // 8)
        cols.update({k: counts[k] for k in self.keys})
        if self.recipe.peak:
            cols["peak_activation_bytes"] = self._peaks(ai, digits, h, w)
        for k, v in cols.items():
            if k in skip:
                continue
            if k in out and hasattr(out[k], "shape"):
                out[k][...] = v
            else:
                out[k] = v
        out["network"] = self.net.name
        for k, v in self.full.items():
            if v is not None:
                out[k] = v
        return out

    def _loop_rows(self, ai, digits, h, w):
        import numpy as np
        vals = {k: [] for k in COUNT_KEYS}
        for j in range(len(h)):
            t = self._exact(self.alphas[ai], digits[j], (int(h[j]), int(w[j])))
            for k in vals:
                vals[k].append(t[k])
        return {k: np.array(v, dtype=np.int64 if self.dtypes.get(k) is not object else object)
                for k, v in vals.items()}

    def _peaks(self, ai, digits, h, w):
        import numpy as np
        from ..memory import plan, schedule, to_bytes
        out = []
        for j in range(len(h)):
            g = self.point_graph(self.alphas[int(ai[j])], self._choices(digits[j]), (int(h[j]), int(w[j])))
            p = plan(g, unfused=self.recipe.unfused, zero_copy=self.recipe.zero_copy)
            out.append(to_bytes(schedule(p, "optimal").peak, self.bits))
        return np.array(out, dtype=np.int64 if max(out) < INT64_BOUND else object)


def build_error(p, ai, h, w) -> str:
    """The error build() gives for the first point and resolution of a chunk where a map vanishes."""
    import numpy as np
    for j in range(len(h)):
        for d in (np.zeros(p.S, dtype=np.int64), np.full(p.S, p.Q - 1)):
            try:
                p.point_graph(p.alphas[ai], p._choices(d), (int(h[j]), int(w[j])))
            except CostModelError as e:
                return str(e)
    return f"{p.net.name}: a feature map vanishes at one of the resolutions"


def _ceil(n, d):
    from ..rounding import ceil_repeats
    return ceil_repeats(n, d)


def _flags(q: dict) -> str:
    """A stage choice as the options that make it: ``--stage-kernel 4, --stage-width 0.5``."""
    return ", ".join(f"--stage-{k} {v:g}" for k, v in q.items())


def _unique_hw(h, w):
    """The distinct (H, W) of rows (arrays) and, per row, its index among them."""
    import numpy as np
    if h.dtype == object or w.dtype == object:
        pairs = list(zip(h.tolist(), w.tolist()))
        uniq = list(dict.fromkeys(pairs))
        pos = {p: i for i, p in enumerate(uniq)}
        return ((np.array([p[0] for p in uniq], dtype=object), np.array([p[1] for p in uniq], dtype=object)),
                np.array([pos[p] for p in pairs], dtype=np.int64))
    key = h.astype(np.int64) * (int(w.max()) + 1) + w if len(h) and int(h.max()) < 2 ** 31 else None
    if key is None:
        return _unique_hw(h.astype(object), w.astype(object))
    u, first, inv = np.unique(key, return_index=True, return_inverse=True)
    return (h[first], w[first]), inv


def _output_hw(st, ev):
    """The (H, W) arrays of the segment's output (its graph's first output) from its evaluation."""
    hs, ws, _ = ev
    v = st.model.var_of.get(st.reps[0].outputs[0])
    return (hs[v], ws[v]) if v is not None else None


__all__ = ["ENUMERATE_LIMIT", "PreparedStages", "STAGE_AXES", "StageAxes"]
