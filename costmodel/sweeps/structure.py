"""What a sweep computes once, before any row: the channel configurations' graphs grouped by
structure, each structure's spatial variables, and the coefficients of every count.

1. **Configurations.** A configuration is everything but the resolution (alpha, depth, stage
   choices); it reaches a graph through the spec function, the repeat rule and the rounding policy
   (``Context.ch``). One traced build per distinct (spec, repeats) lists the ``ch`` calls;
   replaying them with ``Context.ch`` itself over every alpha gives each configuration's tuple of
   rounded widths, and configurations with equal tuples build equal graphs (deterministic blocks:
   the same widths in, the same calls out). One representative graph is built per tuple and its own
   trace is checked against the replay (else one build per configuration of that group).
2. **Structures.** Graphs equal but for integer attributes (channel counts, groups) share a
   structure; integer attributes never change a spatial size (the ops' ``out_hw`` read kernels,
   strides, paddings and sizes, which are tuples or strings).
3. **Spatial variables** (``SpatialModel``). ``Op.out_hw`` propagates integer numpy arrays of H and
   W over a slice of resolutions; an op applied to the same arrays with the same non-integer
   attributes is evaluated once (memo), and an op returning its input's arrays (the default
   ``out_hw``) adds no variable. Each distinct pair of arrays is a *fine* variable, fixed by the
   graph's structure; per slice, fine variables with equal areas merge (``merge``), so the product
   below has a handful of rows whatever the network's depth.
4. **Coefficients.** Each op's own cost formulas (``analysis.node_counts``, ``memory.plan``'s MAC)
   run once per structure on symbolic shapes: channels batched over the structure's configurations
   (object arrays of exact ints), H a ``Poly`` in the fine variables, W = 1.
"""
from __future__ import annotations

from typing import Dict, List

from .algebra import NotVectorizable, Poly, add_into, batch_values

INT64_BOUND = 2 ** 62


def expand_config(net, alpha, depth, hw, classes, full, trace=None, spec=None):
    """The graph of one configuration of registry network ``net`` at resolution ``hw``."""
    from ..spec import expand
    spec = spec if spec is not None else net.spec(alpha=alpha, **full)
    return expand(spec, alpha, hw, classes, depth, meta={"network": net.name, "family": net.family}, trace=trace,
                  **full)


def structure_key(g):
    """Nodes, wiring and every op attribute except integer ones (channel counts, groups)."""
    return (g.outputs,) + tuple(
        (n.name, n.inputs, n.op.__class__, *[v for v in n.op.__dict__.values() if v.__class__ is not int])
        for n in g.nodes)


def config_groups(net, configs, hw0, classes, full, progress=None, specs=None):
    """[(representative graph, [config indices])] for ``configs`` [(alpha, depth)] built at ``hw0``:
    configurations whose graphs are equal share one. ``specs``: the spec of each configuration when
    the caller made them (stage choices), else ``net.spec(alpha=...)``."""
    from ..spec import Context, scaled_repeat
    by_key: Dict[tuple, List[int]] = {}
    spec_of = []
    names: Dict[int, str] = {}
    for i, (a, d) in enumerate(configs):
        s = specs[i] if specs is not None else net.spec(alpha=a, **full)
        spec_of.append(s)
        key = names.get(id(s.blocks))
        if key is None:
            key = names[id(s.blocks)] = repr(s)
        reps = tuple(scaled_repeat(s, b, d if d is not None else s.default_depth) for b in s.blocks)
        by_key.setdefault((key, reps), []).append(i)
    todo = []
    probed: Dict[int, object] = {}  # config -> the graph built to probe its group, when it represents it
    for idx in by_key.values():
        a0, d0 = configs[idx[0]]
        probe: list = []
        g0 = expand_config(net, a0, d0, hw0, classes, full, probe, spec_of[idx[0]])
        calls = [(c, m, rule) for c, m, rule, _ in probe]
        distinct = list(dict.fromkeys(calls))
        width = spec_of[idx[0]].width
        cols = [[Context(configs[i][0], hw0, classes, width).ch(c, m, rule) for i in idx] for c, m, rule in distinct]
        sigs: Dict[tuple, List[int]] = {}
        for j, i in enumerate(idx):
            sigs.setdefault(tuple(col[j] for col in cols), []).append(i)
        todo += [(calls, members) for members in sigs.values()]
        mine = next(m for m in sigs.values() if idx[0] in m)
        if min(mine, key=lambda i: configs[i][0]) == idx[0]:  # the probe is its members' representative: kept
            probed[idx[0]] = g0
    out = []
    for done, (calls, members) in enumerate(todo, 1):
        lo = min(members, key=lambda i: configs[i][0])
        g = probed.pop(lo, None)  # built already, by the probe that made ``calls``
        if g is not None:
            out.append((g, members))
        else:
            tr: list = []
            g = expand_config(net, *configs[lo], hw0, classes, full, tr, spec_of[lo])
            if [(c, m, rule) for c, m, rule, _ in tr] == calls:
                out.append((g, members))
            else:
                out += [(expand_config(net, *configs[i], hw0, classes, full, None, spec_of[i]), [i])
                        for i in members]
        if progress:
            progress(done, len(todo))
    return out


# ----------------------------------------------------------------------------- spatial variables
def _op_key(op):
    """What makes two ops' spatial rules equal: the class and the attributes other than ints (channel
    counts); None when an attribute cannot be hashed (such an op is never shared)."""
    attrs = tuple((k, v) for k, v in op.__dict__.items() if v.__class__ is not int)
    try:
        hash(attrs)
    except TypeError:
        return None
    return (op.__class__, attrs)


class SpatialModel:
    """The spatial sizes of every tensor of graph ``g`` as functions of the input (H, W)."""

    def __init__(self, g):
        self.g = g
        self._op_keys = [_op_key(n.op) for n in g.nodes]  # made once: ``_propagate`` runs per chunk
        import numpy as np
        dt = object if max(g.input_shape[1:]) >= 2 ** 62 else np.int64
        probe = np.array([g.input_shape[1]], dtype=dt), np.array([g.input_shape[2]], dtype=dt)
        hw, _ = self._propagate(*probe)
        ids: Dict[tuple, int] = {}
        self.var_of: Dict[str, object] = {}  # tensor ref -> fine variable id (maps only)
        for ref, (h, w) in hw.items():
            if self._is_map(ref):
                self.var_of[ref] = ids.setdefault((id(h), id(w)), len(ids))
        self.n_vars = len(ids)
        self._pattern = {ref: v for ref, v in self.var_of.items()}
        self.hw0 = [0] * self.n_vars
        for ref, v in self.var_of.items():
            h, w = hw[ref]
            self.hw0[v] = int(h[0]) * int(w[0])

    def _is_map(self, ref) -> bool:
        from ..graph import INPUT
        return ref == INPUT or len(self.g.shape(ref)) == 3

    def _propagate(self, h, w, reuse: bool = False):
        """(H, W) arrays of every tensor ref, and the mask of inputs where a feature map vanishes.
        ``reuse``: an op whose output equals its first input's sizes returns that input's arrays
        (so that the ops after it hit the memo); off for the structural probe."""
        from ..graph import INPUT
        import numpy as np
        hw = {INPUT: (h, w)}
        memo: Dict[tuple, tuple] = {}
        bad = np.zeros(len(h), dtype=bool)
        checked = set()
        for n, opk in zip(self.g.nodes, self._op_keys):
            ins = tuple(hw[r] for r in n.inputs)
            key = None if opk is None else (opk, tuple((id(h), id(w)) for h, w in ins))
            res = memo.get(key) if key is not None else None
            if res is None:
                res = n.op.out_hw(ins)
                ho, wo = res
                if not isinstance(ho, np.ndarray) or ho.shape != h.shape:  # a constant: broadcast once
                    ho = np.asarray(ho + 0 * h)
                if not isinstance(wo, np.ndarray) or wo.shape != h.shape:
                    wo = np.asarray(wo + 0 * h)
                if reuse and ins and (ho is not ins[0][0] or wo is not ins[0][1]):
                    hi, wi = ins[0]
                    if np.array_equal(ho, hi) and (wo is ho and wi is hi or np.array_equal(wo, wi)):
                        ho, wo = hi, wi
                    elif wo is not ho and hi is wi and np.array_equal(ho, wo):
                        wo = ho  # a square map stays one array
                res = (ho, wo)
                if key is not None:
                    memo[key] = res
            if len(n.out_shapes[0]) == 3 and (id(res[0]), id(res[1])) not in checked:
                checked.add((id(res[0]), id(res[1])))
                bad |= (res[0] < 1) | (res[1] < 1)
            for r in n.outputs:
                hw[r] = res
        return hw, bad

    def evaluate(self, h, w):
        """Per fine variable its H and W arrays over the slice (h, w) (variables with equal sizes
        may share arrays), and the mask of resolutions where some feature map does not fit."""
        hw, bad = self._propagate(h, w, reuse=True)
        hs: List = [None] * self.n_vars
        ws: List = [None] * self.n_vars
        for ref, v in self.var_of.items():
            if hs[v] is None:
                hs[v], ws[v] = hw[ref]
        return hs, ws, bad

    def agree(self, g, k: int, hs, ws) -> bool:
        """The sizes at slice index k equal graph ``g``'s own shapes (an op without a correct
        ``out_hw`` rule fails this; the sweep then counts each configuration exactly)."""
        for n in g.nodes:
            for r, s in zip(n.outputs, n.out_shapes):
                if len(s) == 3:
                    v = self.var_of[r]
                    if (s[1], s[2]) != (int(hs[v][k]), int(ws[v][k])):
                        return False
        return True


def areas(hs, ws):
    """H x W of each fine variable (one array per distinct pair of arrays): int64, or exact
    objects where a side reaches 2**31."""
    out, done = [], {}
    for h, w in zip(hs, ws):
        key = (id(h), id(w))
        if key not in done:
            if h.dtype == object or w.dtype == object or (len(h) and max(int(h.max()), int(w.max())) >= 2 ** 31):
                done[key] = h.astype(object) * w.astype(object)
            else:
                done[key] = h * h if w is h else h * w
        out.append(done[key])
    return out


def merge(values):
    """Group fine variables with equal area arrays: (groups [[fine ids]], one area array per group,
    ``None`` for a group whose areas are all 1: a constant term)."""
    import numpy as np
    groups: List[List[int]] = []
    arrays: List = []
    by_id: Dict[int, int] = {}
    by_print: Dict[tuple, List[int]] = {}
    for v, a in enumerate(values):
        gi = by_id.get(id(a))
        if gi is None:
            fp = (a.dtype == object, int(a[0]), int(a[-1]), len(a)) if len(a) else (a.dtype == object,)
            for cand in by_print.get(fp, []):
                if np.array_equal(arrays[cand], a):
                    gi = cand
                    break
            else:
                gi = len(groups)
                by_print.setdefault(fp, []).append(gi)
                groups.append([])
                arrays.append(a)
            by_id[id(a)] = gi
        groups[gi].append(v)
    arrays = [None if (a.dtype != object and len(a) and a.min() == 1 and a.max() == 1) else a for a in arrays]
    return groups, arrays


# ----------------------------------------------------------------------------- coefficients
def symbolic_graph(reps, var_of, hw0):
    """One graph whose shapes are symbolic: channels batched over ``reps``, H a Poly, W 1."""
    from ..graph import INPUT, Graph, Node
    g0 = reps[0]

    def sym(ref, shapes):
        if len(shapes[0]) != 3:
            raise NotVectorizable(f"tensor {ref!r} of rank {len(shapes[0])}")
        c = batch_values([s[0] for s in shapes])
        c = Poly({None: c}) if not isinstance(c, int) else c
        return (c, Poly({var_of[ref]: 1}), 1)

    def at(x, k):
        """Value of a symbolic size for representative k at the representatives' resolution."""
        if not isinstance(x, Poly):
            return x if isinstance(x, int) else int(x[k])
        return sum(int(c if isinstance(c, int) else c[k]) * (1 if v is None else hw0[v]) for v, c in x.t.items())

    shape_of = {INPUT: sym(INPUT, [g.input_shape for g in reps])}
    nodes = []
    for i, n in enumerate(g0.nodes):
        ops = [g.nodes[i].op for g in reps]
        op = ops[0]
        if any(o != op for o in ops):
            attrs = {}
            for k, v in ops[0].__dict__.items():
                b = batch_values([o.__dict__[k] for o in ops])
                attrs[k] = Poly({None: b}) if not isinstance(b, type(v)) else b
            op = type(op).symbolic(**attrs)
        ins = tuple(shape_of[r] for r in n.inputs)
        outs = []
        for j, r in enumerate(n.outputs):
            if len(n.out_shapes[j]) == 1:  # a vector: the op's own shape rule on symbolic inputs, checked
                (f,) = op.infer(ins)[j]
                if any(at(f, k) != g.nodes[i].out_shapes[j][0] for k, g in enumerate(reps)):
                    raise NotVectorizable(f"vector {r!r}")
                outs.append((f,))
            else:
                outs.append(sym(r, [g.nodes[i].out_shapes[j] for g in reps]))
        outs = tuple(outs)
        for r, s in zip(n.outputs, outs):
            shape_of[r] = s
        nodes.append(Node(n.name, op, n.inputs, ins, outs, n.scope))
    return Graph(g0.name, shape_of[INPUT], tuple(nodes), g0.outputs, dict(g0.meta))


#: the totals a vectorized sweep computes, each equal to ``analyze(...).totals[key]``
COUNT_KEYS = ("params", "params_with_bn", "madds", "flops", "attn_madds", "bn_channels", "mac")


def coefficients(reps, var_of, hw0, unfused, zero_copy) -> Dict[str, Poly]:
    """Per count key, the Poly whose evaluation at a slice's areas is the count (batched over reps)."""
    from ..analysis import node_counts
    from ..memory import plan
    sg = symbolic_graph(reps, var_of, hw0)
    acc: Dict[str, dict] = {k: {} for k in COUNT_KEYS}  # summed in place (a Poly sum copies its terms)
    for n in sg.nodes:  # the same per-node formulas as analyze(), on symbolic shapes
        for k, v in node_counts(n).items():
            add_into(acc[k], v)
    mac = acc["mac"]
    for u in plan(sg, unfused=unfused, zero_copy=zero_copy).units:
        add_into(mac, u.mac)
    return {k: Poly(t) for k, t in acc.items()}


def matrix(acc: Poly, G: int, V: int):
    """(coefficient matrix G x V, constant term G) as object arrays of exact ints."""
    import numpy as np
    C = np.zeros((G, V), dtype=object)
    const = np.zeros(G, dtype=object)
    for k, v in acc.t.items():
        if k is None:
            const = const + v
        else:
            C[:, k] = C[:, k] + v
    return C, const


__all__ = ["COUNT_KEYS", "INT64_BOUND", "SpatialModel", "areas", "coefficients", "config_groups", "expand_config",
           "matrix", "merge", "structure_key", "symbolic_graph"]
