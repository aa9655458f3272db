"""Vectorized design-space sweeps: ``sweep(name, alphas, resolutions)`` -> one DataFrame row per
(alpha, resolution), each equal to ``analyze(build(...)).totals`` for that configuration.

Why it is fast (MobileNetV1 section 4, MobileNetV2 section 6.1: alpha acts on channels only,
the resolution rho on spatial sizes only). Every count of every op is a sum of terms
``channel factor x H_t W_t`` (H_t W_t the spatial size of some tensor t) plus a channel-only term.
So for a grid:

1. **Channel configurations.** alpha reaches a graph through the spec function and the rounding
   policy (``Context.ch``). One traced build per distinct spec (``spec.TracingContext``) lists the
   ``ch`` calls; replaying them with ``Context.ch`` itself (the official rounding is reused, not
   re-implemented) over every alpha gives each alpha's tuple of rounded widths; alphas with equal
   tuples build equal graphs (deterministic blocks: the same widths in, the same calls out, by
   induction over the calls). One representative graph is built per tuple and its own trace is
   checked against the replay. A block that reads ``ctx.alpha`` directly (a detection head's
   ``int(d * alpha)``) is seen in the trace: then the group's largest alpha is built too and
   compared (exact for width rules monotone in alpha); any mismatch falls back to one build per
   alpha of that group. A block that reads ``ctx.res`` makes the sweep fall back to one exact
   count per configuration.
2. **Spatial sizes.** ``Op.out_hw`` (next to each op's ``infer`` in ``ops.py``) propagates integer
   numpy arrays of H and W over all resolutions at once; tensors with equal size arrays share a
   spatial variable. A resolution that makes a layer vanish is rebuilt with ``build`` so the error
   is exactly build()'s. The graph is also built at the smallest resolution and compared, so a
   structure that depends on the resolution beyond shape inference (an upsample to the input size)
   is detected, and so is a size one spatial variable cannot express (a concat of flattened maps of
   different sizes, as the SSD heads build); such networks fall back to one exact count per
   configuration (``analyze``'s sums without the peak search).
3. **Coefficients.** Each op's own cost formulas (``params``, ``bn_params``, ``madds``, ``flops``
   and ``memory.plan``'s MAC) are evaluated once per structure on symbolic shapes: H is a linear
   polynomial in the spatial variables, channels are object arrays over the channel configurations
   (exact Python integers). No formula is duplicated here.
4. **Totals** = coefficient matrix (configurations x variables) @ spatial matrix (variables x
   resolutions) + the channel-only term: an outer-product sum, in int64 when a bound on every
   entry is below 2**62, else in Python integers (object arrays): exact, never a silent overflow.

``peak_activation_bytes`` (optimal schedule) is a maximum over a searched order, not a sum of
products: it is not in the vectorized sweep; ``peak=True`` adds it by one exact plan per
configuration (slow, about 2 ms each).
"""
from __future__ import annotations

from typing import Callable, Dict, Iterable, List, Optional

from .errors import CostModelError

#: totals a vectorized sweep computes (each equal to ``analyze(...).totals[key]``)
SWEEP_KEYS = ("params", "params_with_bn", "madds", "flops", "bn_channels", "mac", "mac_bytes")
INT64_BOUND = 2 ** 62


class _NotVectorizable(TypeError):
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
        raise _NotVectorizable(f"unsupported operand {type(x).__name__}")

    def const(self):
        if any(k is not None for k in self.t):
            raise _NotVectorizable("a spatial size used in a non-linear way")
        return self.t.get(None, 0)

    def __add__(self, o):
        try:
            o = Poly.of(o)
        except _NotVectorizable:
            return NotImplemented
        t = dict(self.t)
        for k, v in o.t.items():
            t[k] = t[k] + v if k in t else v
        return Poly(t)

    __radd__ = __add__

    def __neg__(self):
        return Poly({k: -v for k, v in self.t.items()})

    def __sub__(self, o):
        return self + (-Poly.of(o))

    def __rsub__(self, o):
        return Poly.of(o) + (-self)

    def __mul__(self, o):
        if isinstance(o, Poly):
            if all(k is None for k in o.t):
                o = o.const()
            elif all(k is None for k in self.t):
                return o * self.const()
            else:
                raise _NotVectorizable("a product of two spatial sizes")
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
            raise _NotVectorizable("a decision that differs between channel configurations")
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


def _is_num(x) -> bool:
    import numbers
    import numpy as np
    return (isinstance(x, numbers.Integral) and not isinstance(x, bool)) or isinstance(x, np.ndarray)


def _batch(vals: list):
    """One value if all configurations agree, else an object array (exact Python ints)."""
    import numpy as np
    v0 = vals[0]
    if all(v == v0 for v in vals):
        return v0
    return np.array(vals, dtype=object)


# ----------------------------------------------------------------------------- channel configurations
def _expand(net, alpha, res, classes, full, trace=None, depth=None):
    from .spec import expand
    spec = net.spec(alpha=alpha, **full)
    return expand(spec, alpha, res, classes, depth, meta={"network": net.name, "family": net.family}, trace=trace,
                  **full)


def _structure_key(g):
    """Nodes, wiring and every op attribute except integer ones (channel counts, groups)."""
    return (g.outputs,) + tuple(
        (n.name, n.inputs, n.op.__class__, *[v for v in n.op.__dict__.values() if v.__class__ is not int])
        for n in g.nodes)


def _same_graph(a, b) -> bool:
    return (a.outputs == b.outputs and len(a.nodes) == len(b.nodes)
            and all(x.name == y.name and x.inputs == y.inputs and x.op == y.op and
                    [s[0] for s in x.in_shapes] == [s[0] for s in y.in_shapes]
                    for x, y in zip(a.nodes, b.nodes)))


def _channel_groups(net, alphas, r0, classes, full, progress):
    """[(representative graph, [alpha indices])]: alphas whose graphs are equal share one (equal
    replayed widths; the representative's own trace is checked against the replay)."""
    from .spec import Context
    spec_groups: Dict[str, List[int]] = {}
    specs = []  # kept alive: ids of their block tuples stay unique
    by_id: Dict[int, str] = {}
    for i, a in enumerate(alphas):
        s = net.spec(alpha=a, **full)
        specs.append(s)
        key = by_id.get(id(s.blocks))
        if key is None:
            key = by_id[id(s.blocks)] = repr(s)
        spec_groups.setdefault(key, []).append(i)
    out = []
    todo = []
    for key, idx in spec_groups.items():
        probe: list = []
        _expand(net, alphas[idx[0]], r0, classes, full, probe)
        calls = [(c, m, rule) for c, m, rule, _ in probe]
        distinct = list(dict.fromkeys(calls))
        width = specs[idx[0]].width
        cols = [[Context(alphas[i], (r0, r0), classes, width).ch(c, m, rule) for i in idx] for c, m, rule in distinct]
        sigs: Dict[tuple, List[int]] = {}
        for j, i in enumerate(idx):
            sigs.setdefault(tuple(col[j] for col in cols), []).append(i)
        todo += [(calls, members) for members in sigs.values()]
    done = 0
    for calls, members in todo:
        lo = min(members, key=lambda i: alphas[i])
        tr: list = []
        g = _expand(net, alphas[lo], r0, classes, full, tr)
        if [(c, m, rule) for c, m, rule, _ in tr] == calls:
            out.append((g, members))
        else:
            out += [(_expand(net, alphas[i], r0, classes, full), [i]) for i in members]
        done += 1
        if progress:
            progress(done, len(todo))
    return out


# ----------------------------------------------------------------------------- spatial sizes
def _spatial(g, res):
    """Per tensor ref: spatial variable id (None: constant 1); the variables' H*W arrays; the mask
    of resolutions where some feature map does not fit. Vectors (rank 1) get their size from
    ``infer`` on symbolic shapes instead (``_symbolic_graph``): a concat of flattened maps of
    different sizes is a sum of spatial variables, not one."""
    import numpy as np
    from .graph import INPUT
    hw = {INPUT: (res, res)}
    var_of = {}
    keys: Dict[tuple, int] = {}
    values: List = []
    bad = np.zeros(len(res), dtype=bool)

    def var(h, w):
        if bool(np.all(h == 1)) and bool(np.all(w == 1)):
            return None
        k = (tuple(h.tolist()), tuple(w.tolist())) if h.dtype == object else (h.tobytes(), w.tobytes())
        if k not in keys:
            keys[k] = len(values)
            big = h.dtype != object and max(int(h.max()), int(w.max())) >= 2 ** 31
            values.append(h.astype(object) * w.astype(object) if big else h * w)  # no int64 wrap
        return keys[k]

    var_of[INPUT] = var(res, res)
    for n in g.nodes:
        h, w = n.op.out_hw(tuple(hw[r] for r in n.inputs))
        h = np.asarray(h + 0 * res)
        w = np.asarray(w + 0 * res)
        if len(n.out_shapes[0]) == 3:
            bad |= (h < 1) | (w < 1)
        v = var(h, w)
        for r in n.outputs:
            hw[r] = (h, w)
            var_of[r] = v
    return hw, var_of, values, bad


def _shapes_agree(g, hw, k: int) -> bool:
    """The vectorized sizes at resolution index k equal the graph's own shapes (an op without a
    correct ``out_hw`` rule fails this; the sweep then falls back to exact per-configuration runs)."""
    for n in g.nodes:
        for r, s in zip(n.outputs, n.out_shapes):
            h, w = hw[r]
            if len(s) == 3 and (s[1], s[2]) != (int(h[k]), int(w[k])):
                return False
    return True


# ----------------------------------------------------------------------------- coefficients
def _symbolic_graph(reps, var_of, hw0):
    """One graph whose shapes are symbolic: channels batched over ``reps``, H a Poly, W 1."""
    from .graph import Graph, Node
    g0 = reps[0]

    def sym(ref, shapes):
        v = var_of[ref]
        s0 = shapes[0]
        if len(s0) == 3:
            c = _batch([s[0] for s in shapes])
            c = Poly({None: c}) if not isinstance(c, int) else c
            return (c, 1 if v is None else Poly({v: 1}), 1)
        raise _NotVectorizable(f"tensor {ref!r} of rank {len(s0)}")

    def at(x, k):
        """Value of a symbolic size for representative k at the representatives' resolution."""
        if not isinstance(x, Poly):
            return x if isinstance(x, int) else int(x[k])
        return sum(int(c if isinstance(c, int) else c[k]) * (1 if v is None else hw0[v]) for v, c in x.t.items())

    from .graph import INPUT
    shape_of = {INPUT: sym(INPUT, [g.input_shape for g in reps])}
    nodes = []
    for i, n in enumerate(g0.nodes):
        ops = [g.nodes[i].op for g in reps]
        op = ops[0]
        if any(o != op for o in ops):
            attrs = {}
            for k, v in ops[0].__dict__.items():
                b = _batch([o.__dict__[k] for o in ops])
                attrs[k] = Poly({None: b}) if not isinstance(b, type(v)) else b
            op = type(op).symbolic(**attrs)
        ins = tuple(shape_of[r] for r in n.inputs)
        outs = []
        for j, r in enumerate(n.outputs):
            if len(n.out_shapes[j]) == 1:  # a vector: the op's own shape rule on symbolic inputs, checked
                (f,) = op.infer(ins)[j]
                if any(at(f, k) != g.nodes[i].out_shapes[j][0] for k, g in enumerate(reps)):
                    raise _NotVectorizable(f"vector {r!r}")
                outs.append((f,))
            else:
                outs.append(sym(r, [g.nodes[i].out_shapes[j] for g in reps]))
        outs = tuple(outs)
        for r, s in zip(n.outputs, outs):
            shape_of[r] = s
        nodes.append(Node(n.name, op, n.inputs, ins, outs, n.scope))
    return Graph(g0.name, shape_of[INPUT], tuple(nodes), g0.outputs, dict(g0.meta))


def _coefficients(reps, var_of, hw0, unfused, zero_copy) -> Dict[str, Poly]:
    from .memory import plan
    sg = _symbolic_graph(reps, var_of, hw0)
    from .analysis import SUM_KEYS, node_counts
    acc = {k: Poly({}) for k in SUM_KEYS + ("mac",)}
    for n in sg.nodes:  # the same per-node formulas as analyze(), on symbolic shapes
        for k, v in node_counts(n).items():
            acc[k] += v
    for u in plan(sg, unfused=unfused, zero_copy=zero_copy).units:
        acc["mac"] += u.mac
    return acc


def _totals(acc: Poly, G: int, values, R: int) -> "object":
    """(G x R) exact totals: coefficient matrix @ spatial matrix + constant term."""
    import numpy as np
    V = len(values)
    C = np.zeros((G, V), dtype=object)
    const = np.zeros(G, dtype=object)
    for k, v in acc.t.items():
        if k is None:
            const = const + v
        else:
            C[:, k] = C[:, k] + v
    vmax = [int(np.max(np.abs(x))) if len(x) else 0 for x in values]
    bound = sum(int(np.max(np.abs(C[:, j]))) * vmax[j] for j in range(V)) + int(np.max(np.abs(const)))
    if bound < INT64_BOUND and all(x.dtype != object for x in values):
        S = np.array(values, dtype=np.int64).reshape(V, R)
        return C.astype(np.int64) @ S + const.astype(np.int64)[:, None]
    S = np.empty((V, R), dtype=object)
    for j, x in enumerate(values):
        S[j] = [int(v) for v in x]
    return C.dot(S) + const[:, None] if V else np.repeat(const[:, None], R, axis=1)


# ----------------------------------------------------------------------------- the API
def sweep(name: str, alphas: Optional[Iterable[float]] = None, resolutions: Optional[Iterable[int]] = None,
          classes: Optional[int] = None, *, bits: int = 32, unfused: bool = False, zero_copy: bool = False,
          peak: bool = False, progress: Optional[Callable[[int, int], None]] = None, **knobs):
    """Totals of ``name`` for every (alpha, resolution) of the grid, as a pandas DataFrame: columns
    network, alpha, resolution, classes, the knobs, then ``SWEEP_KEYS`` (params, params_with_bn,
    madds, flops, bn_channels, mac, mac_bytes at ``bits``) and, with ``peak=True``,
    peak_activation_bytes (optimal schedule; one exact plan per configuration, not vectorized).
    Rows are alpha-major in the order given. Counts are exact (int64 columns, or Python integers
    when a value could exceed 2**62). ``progress(done, total)`` is called as graphs are built."""
    import numpy as np
    import pandas as pd
    from . import validate
    from .sources import source_kind
    from .memory import check_bits, to_bytes
    from .registry import configure
    if source_kind(name) != "registry":  # spec file, block string or ONNX model: one exact build each
        return sweep_file(name, alphas, resolutions, classes, bits=bits, unfused=unfused, zero_copy=zero_copy,
                          peak=peak, progress=progress, **knobs)

    user_knobs = dict(knobs)
    cfg = configure(name, None, None, classes, **knobs)
    net, a0, res0, classes, full = cfg.network, cfg.alpha, cfg.res[0], cfg.classes, cfg.knobs
    bits = check_bits(bits)
    alphas = [a0] if alphas is None else _as_list(alphas)
    resolutions = [res0] if resolutions is None else _as_list(resolutions)  # res0: the knobs' default
    if not alphas or not resolutions:
        raise CostModelError("sweep needs at least one alpha and one resolution")
    alphas = [validate.alpha(a, net.name, net.alphas) for a in alphas]
    ua = list(dict.fromkeys(alphas))
    a_index = {a: i for i, a in enumerate(ua)}
    try:
        r_arr = np.asarray(resolutions)
        if r_arr.dtype.kind not in "iu" or r_arr.ndim != 1:
            raise TypeError
    except (TypeError, ValueError, OverflowError):
        r_arr = None
    min_res = net.min_res_of(full)
    if r_arr is None or len(r_arr) == 0 or int(r_arr.min()) < min_res:
        for r in resolutions:
            if validate.resolution(r, net.name, min_res)[0] != validate.resolution(r)[1]:
                raise CostModelError(f"{net.name}: a non-square resolution ({r}) in a registry sweep is not "
                                     f"supported yet; sweep square sizes or use costmodel table --res HxW")
        r_arr = np.array([int(r) for r in resolutions], dtype=object)
    ur, r_inv = np.unique(r_arr, return_inverse=True)
    if int(ur.max()) >= 2 ** 30:
        ur = np.array([int(r) for r in ur], dtype=object)
    r0 = int(ur[-1])

    def rows_of(T_by_alpha):
        """(A x R) unique totals -> the requested rows."""
        ai = np.array([a_index[a] for a in alphas])
        return T_by_alpha[np.ix_(ai, r_inv)].reshape(-1)

    try:
        totals = _vectorized(net, ua, ur, r0, classes, full, user_knobs, unfused, zero_copy, progress)
    except CostModelError:
        _raise_first_error(net, alphas, [int(r) for r in r_arr], classes, user_knobs)
        raise
    if totals is None:  # resolution-dependent structure: one exact analysis per configuration
        totals = _by_loop(net, ua, ur, classes, full, bits, unfused, zero_copy, progress)
    n_a, n_r = len(alphas), len(r_inv)
    cols = {"network": pd.Categorical.from_codes(np.zeros(n_a * n_r, dtype=np.int8), [net.name]),
            "alpha": np.repeat(np.array(alphas, dtype=float), n_r),
            "resolution": np.tile(r_arr, n_a),
            "classes": np.full(n_a * n_r, classes, dtype=np.int64)}
    for k, v in full.items():  # the knobs build() used (unset optional ones, None, are left out)
        if v is None:
            continue
        cols[k] = np.full(n_a * n_r, v) if isinstance(v, (bool, int, float)) else \
            pd.Categorical.from_codes(np.zeros(n_a * n_r, dtype=np.int8), [str(v)])
    for k in SWEEP_KEYS:
        if k == "mac_bytes":
            cols[k] = to_bytes(cols["mac"], bits)
        else:
            cols[k] = rows_of(totals[k])
    df = pd.DataFrame(cols, copy=False)  # no block consolidation copy of a million-row grid
    if peak:
        df["peak_activation_bytes"] = _peaks(net, alphas, r_arr, classes, full, bits, unfused, zero_copy,
                                             progress)
    df.attrs.update({"network": net.name, "family": net.family, "bits": bits, "unfused": unfused,
                     "zero_copy": zero_copy})
    return df


def _vectorized(net, ua, ur, r0, classes, full, user_knobs, unfused, zero_copy, progress):
    import numpy as np
    from .registry import build
    groups = _channel_groups(net, ua, r0, classes, full, progress)
    if groups is None:
        return None
    by_structure: Dict[tuple, list] = {}
    for g, members in groups:
        by_structure.setdefault(_structure_key(g), []).append((g, members))
    out = {k: np.zeros((len(ua), len(ur)), dtype=np.int64) for k in SWEEP_KEYS if k != "mac_bytes"}
    k0 = len(ur) - 1
    for entries in by_structure.values():
        reps = [g for g, _ in entries]
        hw, var_of, values, bad = _spatial(reps[0], ur)
        a_rep = reps[0].meta["alpha"]
        if bad.any():
            r_bad = int(ur[int(np.argmax(bad))])
            # raises build()'s error (sweep() then reports the first failing row's own error)
            build(net.name, alpha=a_rep, res=r_bad, classes=classes, **user_knobs)
            return None  # it builds: a size the vectorized shapes cannot express (a concat of vectors)
        if not _shapes_agree(reps[0], hw, k0):
            return None
        if len(ur) > 1:
            g_lo = _expand(net, a_rep, int(ur[0]), classes, full)
            if _structure_key(g_lo) != _structure_key(reps[0]) or not _shapes_agree(g_lo, hw, 0):
                return None
        hw0 = [int(v[k0]) for v in values]
        fails = _NotVectorizable  # the one reason to fall back; anything else is a bug and surfaces
        try:
            accs = _coefficients(reps, var_of, hw0, unfused, zero_copy)
            per_rep = None
        except fails:  # a decision that differs between channel configurations: one at a time
            try:
                per_rep = [_coefficients([g], var_of, hw0, unfused, zero_copy) for g in reps]
            except fails:  # not expressible as sums of products: exact counts one by one
                return None
        for key in out:
            if per_rep is None:
                T = _totals(accs[key], len(reps), values, len(ur))
            else:
                T = np.concatenate([_totals(a[key], 1, values, len(ur)) for a in per_rep])
            if T.dtype == object and out[key].dtype != object:
                out[key] = out[key].astype(object)
            for j, (_, members) in enumerate(entries):
                out[key][members] = T[j]
    return out


def _raise_first_error(net, alphas, resolutions, classes, knobs):
    """Raise build()'s own error for the first configuration, in row order, that does not build."""
    from .registry import build
    for a in dict.fromkeys(alphas):
        for r in dict.fromkeys(resolutions):
            build(net.name, alpha=a, res=r, classes=classes, **knobs)


def _by_loop(net, ua, ur, classes, full, bits, unfused, zero_copy, progress):
    """Exact totals by one build per configuration (``analyze``'s sums without its peak search)."""
    import numpy as np
    from .analysis import count_totals
    from .memory import plan
    out = {k: np.zeros((len(ua), len(ur)), dtype=object) for k in SWEEP_KEYS if k != "mac_bytes"}
    total = len(ua) * len(ur)
    for i, a in enumerate(ua):
        for j, r in enumerate(ur):
            g = _expand(net, a, int(r), classes, full)
            t = count_totals(g)
            t["mac"] = sum(u.mac for u in plan(g, unfused=unfused, zero_copy=zero_copy).units)
            for k in out:
                out[k][i, j] = t[k]
            if progress:
                progress(i * len(ur) + j + 1, total)
    return {k: (v.astype(np.int64) if max(abs(int(x)) for x in v.flat) < INT64_BOUND else v)
            for k, v in out.items()}


def _peaks(net, alphas, r_arr, classes, full, bits, unfused, zero_copy, progress):
    from .memory import plan, schedule, to_bytes
    out = []
    cache = {}
    total = len(alphas) * len(r_arr)
    for a in alphas:
        for r in r_arr:
            key = (a, int(r))
            if key not in cache:
                p = plan(_expand(net, a, int(r), classes, full), unfused=unfused, zero_copy=zero_copy)
                cache[key] = to_bytes(schedule(p, "optimal").peak, bits)
            out.append(cache[key])
            if progress:
                progress(len(out), total)
    return out


def sweep_file(source, alphas=None, resolutions=None, classes=None, *, bits: int = 32, unfused: bool = False,
               zero_copy: bool = False, peak: bool = False, progress=None, **knobs):
    """``sweep`` for a spec file, block string or imported model: one exact ``analyze(load(...))``
    per (alpha, resolution), the same DataFrame columns as the vectorized sweep (Python integers
    when a value reaches 2**62). ``alphas`` / ``resolutions`` / ``classes`` None: the source's own
    defaults (an imported model's widths and classifier are fixed)."""
    import numpy as np
    import pandas as pd
    from .analysis import analyze
    from .sources import load, source_kind
    kind = source_kind(source)
    alphas = [None] if alphas is None else _as_list(alphas)
    resolutions = [None] if resolutions is None else _as_list(resolutions)
    if not alphas or not resolutions:
        raise CostModelError("sweep needs at least one alpha and one resolution")
    keys = list(SWEEP_KEYS) + (["peak_activation_bytes"] if peak else [])
    rows, total = [], len(alphas) * len(resolutions)
    for a in alphas:
        for r in resolutions:
            g = load(source, a, r, classes, **knobs)
            rep = analyze(g, bits=bits, unfused=unfused, zero_copy=zero_copy)
            rows.append([g.meta["alpha"], g.meta["resolution"], g.meta.get("classes", 0)]
                        + [rep.totals[k] for k in keys])
            if progress is not None:
                progress(len(rows), total)
    cols = {"network": pd.Categorical([g.meta["network"]] * len(rows)),
            "alpha": np.array([x[0] for x in rows], dtype=float),
            "resolution": [x[1] for x in rows], "classes": [x[2] for x in rows]}
    for i, k in enumerate(keys):
        vals = [x[3 + i] for x in rows]
        cols[k] = np.array(vals, dtype=np.int64 if max(abs(v) for v in vals) < INT64_BOUND else object)
    df = pd.DataFrame(cols)
    df.attrs.update({"network": g.meta["network"], "family": g.meta.get("family", kind), "bits": bits,
                     "unfused": unfused, "zero_copy": zero_copy})
    return df


def _as_list(values) -> list:
    """A single number or string is a one-value grid; other iterables as given."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        return [values]
    return list(values)


def frange(spec: str) -> List[float]:
    """Parse 'a,b,c' or 'start:stop:step' (inclusive stop, exact decimal steps: '0.35:1.4:0.05'
    gives 0.35, 0.4, ..., 1.4 with no float drift) into floats."""
    return [float(d) for d in _decimal_values(spec, "alpha")]


def irange(spec: str) -> List[int]:
    """Parse '128,160,224' or '96:224:32' (inclusive stop) into integers."""
    out = []
    for d in _decimal_values(spec, "resolution"):
        if d != d.to_integral_value():
            raise CostModelError(f"resolution values must be integers, got {d} in {spec!r}")
        out.append(int(d))
    return out


def _decimal_values(spec: str, what: str):
    from decimal import Decimal, InvalidOperation
    spec = str(spec).strip()
    out = []
    try:
        for part in spec.split(","):
            part = part.strip()
            if ":" in part:
                bits = part.split(":")
                if len(bits) != 3:
                    raise ValueError
                start, stop, step = (Decimal(b) for b in bits)
                if not step > 0 or stop < start:
                    raise CostModelError(f"bad {what} range {part!r}: need START:STOP:STEP with STEP > 0 and "
                                         f"STOP >= START")
                n = int((stop - start) / step)
                if n > 10_000_000:
                    raise CostModelError(f"{what} range {part!r} has more than 10,000,000 values")
                out += [start + step * k for k in range(n + 1)]
            else:
                out.append(Decimal(part))
        if any(not d.is_finite() for d in out):
            raise ValueError
    except CostModelError:  # a specific message (a ValueError too): keep it
        raise
    except (InvalidOperation, ValueError):
        example = "0.35:1.4:0.05" if what == "alpha" else "96:224:32"
        raise CostModelError(f"bad {what} list {spec!r}: expected comma-separated numbers or START:STOP:STEP "
                             f"(e.g. {example})") from None
    return out


__all__ = ["sweep", "sweep_file", "frange", "irange", "SWEEP_KEYS"]
